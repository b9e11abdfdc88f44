package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The SASL mechanisms Security supports.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// Mechanisms lists the SASL mechanisms Security supports.
func Mechanisms() []string {
	return []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer}
}

// Secret is a credential. It prints as "[redacted]" with fmt (%v, %s,
// %q, %+v, %#v), in slog records and in JSON, so that a Security value
// can be logged or wrapped into an error without leaking it; only
// Reveal returns the value.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts the secret in slog records.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Security says how every Kafka client of a process authenticates and
// encrypts: TLS with verification always on, and optionally SASL. The
// zero value is plaintext without authentication. It is copied freely.
type Security struct {
	// TLS turns on TLS. It is implied by CAFile, CertFile or KeyFile.
	TLS bool
	// CAFile is a PEM bundle of the CAs trusted to sign the brokers'
	// certificates. Empty: the system's trusted CAs.
	CAFile string
	// CertFile and KeyFile are the client's PEM certificate and key for
	// mutual TLS; both or neither.
	CertFile, KeyFile string
	// SASLMechanism is one of Mechanisms, or empty for no SASL.
	SASLMechanism string
	// SASLUser is the user of PLAIN and SCRAM.
	SASLUser string
	// SASLPassword is the password of PLAIN and SCRAM.
	SASLPassword Secret
	// SASLToken is the static OAUTHBEARER token.
	SASLToken Secret
}

// TLSOn reports whether the clients use TLS.
func (s Security) TLSOn() bool {
	return s.TLS || s.CAFile != "" || s.CertFile != "" || s.KeyFile != ""
}

// Check reports the first inconsistency of s, naming the setting (by
// its flag) that is wrong. It does not read any file.
func (s Security) Check() error {
	if (s.CertFile == "") != (s.KeyFile == "") {
		return fmt.Errorf("kafka security: --kafka-cert-file and --kafka-key-file go together (mutual TLS); one is missing")
	}
	m := s.SASLMechanism
	switch m {
	case "":
		if s.SASLUser != "" || s.SASLPassword != "" || s.SASLToken != "" {
			return fmt.Errorf("kafka security: SASL credentials are set but no --kafka-sasl-mechanism (want one of %s)", strings.Join(Mechanisms(), ", "))
		}
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if s.SASLUser == "" {
			return fmt.Errorf("kafka security: --kafka-sasl-mechanism %s needs --kafka-sasl-user", m)
		}
		if s.SASLPassword == "" {
			return fmt.Errorf("kafka security: --kafka-sasl-mechanism %s needs a password: set HOOKPIPE_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file", m)
		}
		if s.SASLToken != "" {
			return fmt.Errorf("kafka security: a SASL token is set, but --kafka-sasl-mechanism %s uses a password", m)
		}
	case MechanismOAuthBearer:
		if s.SASLToken == "" {
			return fmt.Errorf("kafka security: --kafka-sasl-mechanism OAUTHBEARER needs a token: set HOOKPIPE_KAFKA_SASL_TOKEN or --kafka-sasl-token-file")
		}
		if s.SASLPassword != "" {
			return fmt.Errorf("kafka security: a SASL password is set, but --kafka-sasl-mechanism OAUTHBEARER uses a token")
		}
	default:
		return fmt.Errorf("kafka security: --kafka-sasl-mechanism %q: want one of %s", m, strings.Join(Mechanisms(), ", "))
	}
	return nil
}

// Opts returns the kgo options that apply s: a TLS dialer and a SASL
// mechanism as configured, nothing for the zero value. It reads the CA,
// certificate and key files, so a missing or bad file is an error here.
func (s Security) Opts() ([]kgo.Opt, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if s.TLSOn() {
		cfg, err := s.TLSConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if m := s.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// TLSConfig returns the client TLS configuration: TLS 1.2 or later,
// brokers verified against CAFile (or the system pool), the client
// certificate when set. kgo fills in each broker's host name.
func (s Security) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka security: --kafka-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka security: --kafka-ca-file %s: no PEM certificate in it", s.CAFile)
		}
		cfg.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka security: --kafka-cert-file %s / --kafka-key-file %s: %w", s.CertFile, s.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// mechanism returns the franz-go SASL mechanism, nil without SASL.
func (s Security) mechanism() sasl.Mechanism {
	pass := s.SASLPassword.Reveal()
	switch s.SASLMechanism {
	case MechanismPlain:
		return plain.Auth{User: s.SASLUser, Pass: pass}.AsMechanism()
	case MechanismScramSHA256:
		return scram.Auth{User: s.SASLUser, Pass: pass}.AsSha256Mechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: s.SASLUser, Pass: pass}.AsSha512Mechanism()
	case MechanismOAuthBearer:
		return oauth.Auth{Token: s.SASLToken.Reveal()}.AsMechanism()
	}
	return nil
}

// String describes s without its secrets, for logs: for example
// "TLS (CA ca.pem), SASL SCRAM-SHA-512 as hookpipe".
func (s Security) String() string {
	var parts []string
	if s.TLSOn() {
		t := "TLS"
		var d []string
		if s.CAFile != "" {
			d = append(d, "CA "+s.CAFile)
		}
		if s.CertFile != "" {
			d = append(d, "client certificate "+s.CertFile)
		}
		if len(d) > 0 {
			t += " (" + strings.Join(d, ", ") + ")"
		}
		parts = append(parts, t)
	}
	switch s.SASLMechanism {
	case "":
	case MechanismOAuthBearer:
		parts = append(parts, "SASL OAUTHBEARER")
	default:
		parts = append(parts, "SASL "+s.SASLMechanism+" as "+s.SASLUser)
	}
	if len(parts) == 0 {
		return "plaintext, no authentication"
	}
	return strings.Join(parts, ", ")
}

// LogValue logs s as String does.
func (s Security) LogValue() slog.Value { return slog.StringValue(s.String()) }
