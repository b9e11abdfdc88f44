package main

import (
	"flag"
	"os"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// securityFlags are the Kafka TLS and SASL flags every command that takes
// --brokers has. Each defaults to its HOOKPIPE_KAFKA_* variable; the
// password and token come only from the environment or from a file.
type securityFlags struct {
	tls                                      bool
	tlsEnvErr                                error // a bad $HOOKPIPE_KAFKA_TLS
	caFile, certFile, keyFile                string
	mechanism, user, passwordFile, tokenFile string
}

// bindKafkaSecurity registers the security flags on fs; call security()
// after parsing.
func bindKafkaSecurity(fs *flag.FlagSet) *securityFlags {
	f := &securityFlags{}
	tlsDefault, err := kafka.ParseBool(kafka.EnvTLS, os.Getenv(kafka.EnvTLS))
	f.tlsEnvErr = err
	fs.BoolVar(&f.tls, "kafka-tls", tlsDefault, "connect to Kafka with TLS, verifying the brokers' certificates (default $"+kafka.EnvTLS+"; implied by the three file flags)")
	fs.StringVar(&f.caFile, "kafka-ca-file", os.Getenv(kafka.EnvCAFile), "PEM `file` of the CAs that sign the brokers' certificates (default $"+kafka.EnvCAFile+"; empty: the system's)")
	fs.StringVar(&f.certFile, "kafka-cert-file", os.Getenv(kafka.EnvCertFile), "PEM client certificate `file` for mutual TLS (default $"+kafka.EnvCertFile+")")
	fs.StringVar(&f.keyFile, "kafka-key-file", os.Getenv(kafka.EnvKeyFile), "PEM client key `file` for mutual TLS (default $"+kafka.EnvKeyFile+")")
	fs.StringVar(&f.mechanism, "kafka-sasl-mechanism", os.Getenv(kafka.EnvSASLMechanism), "SASL `mechanism`: "+strings.Join(kafka.Mechanisms(), ", ")+" (default $"+kafka.EnvSASLMechanism+"; empty: no SASL)")
	fs.StringVar(&f.user, "kafka-sasl-user", os.Getenv(kafka.EnvSASLUser), "SASL `user` for PLAIN and SCRAM (default $"+kafka.EnvSASLUser+")")
	fs.StringVar(&f.passwordFile, "kafka-sasl-password-file", os.Getenv(kafka.EnvSASLPasswordFile), "`file` holding the SASL password (default $"+kafka.EnvSASLPasswordFile+"; or put the password itself in $"+kafka.EnvSASLPassword+")")
	fs.StringVar(&f.tokenFile, "kafka-sasl-token-file", os.Getenv(kafka.EnvSASLTokenFile), "`file` holding the OAUTHBEARER token (default $"+kafka.EnvSASLTokenFile+"; or put the token itself in $"+kafka.EnvSASLToken+")")
	return f
}

// security returns the checked settings, with the secrets read.
func (f *securityFlags) security() (kafka.Security, error) {
	if f.tlsEnvErr != nil {
		return kafka.Security{}, f.tlsEnvErr
	}
	return kafka.SecuritySource{
		TLS: f.tls, CAFile: f.caFile, CertFile: f.certFile, KeyFile: f.keyFile,
		SASLMechanism: f.mechanism, SASLUser: f.user,
		PasswordFile: f.passwordFile, TokenFile: f.tokenFile,
	}.Resolve()
}

// kafkaFlags are --brokers, --topic-prefix and the security flags of the
// commands that work on a running pipeline's topics (plan, replay, sync).
type kafkaFlags struct {
	brokers, prefix string
	security        *securityFlags
}

// brokersHelp is --brokers' help where the command needs a broker.
const brokersHelp = "Kafka seed brokers, a comma-separated `LIST` of host:port (default $KAFKA_BROKERS; the embedded broker of 'hookpipe run' is 127.0.0.1:9092)"

// bindKafka registers the flags on fs, --brokers with help; call
// connect() after parsing.
func bindKafka(fs *flag.FlagSet, help string) *kafkaFlags {
	f := &kafkaFlags{}
	fs.StringVar(&f.brokers, "brokers", os.Getenv("KAFKA_BROKERS"), help)
	fs.StringVar(&f.prefix, "topic-prefix", "hookpipe", "topic and consumer group names start with `P`")
	f.security = bindKafkaSecurity(fs)
	return f
}

// topics returns the pipeline's topic names.
func (f *kafkaFlags) topics() pipeline.Topics { return pipeline.Topics{Prefix: f.prefix} }

// config returns the Kafka settings, Brokers empty when none was given;
// an error names a bad security flag.
func (f *kafkaFlags) config() (kafka.Config, error) {
	sec, err := f.security.security()
	if err != nil {
		return kafka.Config{}, err
	}
	return kafka.Config{Brokers: splitList(f.brokers), Security: sec}, nil
}
