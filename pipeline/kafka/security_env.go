package kafka

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The environment variables of the Kafka security settings. Each flag
// --kafka-X reads HOOKPIPE_KAFKA_X as its default; the secrets are read
// only from EnvSASLPassword and EnvSASLToken or from the files named by
// EnvSASLPasswordFile and EnvSASLTokenFile, never from a flag's value.
const (
	EnvTLS              = "HOOKPIPE_KAFKA_TLS"
	EnvCAFile           = "HOOKPIPE_KAFKA_CA_FILE"
	EnvCertFile         = "HOOKPIPE_KAFKA_CERT_FILE"
	EnvKeyFile          = "HOOKPIPE_KAFKA_KEY_FILE"
	EnvSASLMechanism    = "HOOKPIPE_KAFKA_SASL_MECHANISM"
	EnvSASLUser         = "HOOKPIPE_KAFKA_SASL_USER"
	EnvSASLPassword     = "HOOKPIPE_KAFKA_SASL_PASSWORD"
	EnvSASLPasswordFile = "HOOKPIPE_KAFKA_SASL_PASSWORD_FILE"
	EnvSASLToken        = "HOOKPIPE_KAFKA_SASL_TOKEN"
	EnvSASLTokenFile    = "HOOKPIPE_KAFKA_SASL_TOKEN_FILE"
)

// SecuritySource is where Security's settings come from before the
// secrets are read: flag values, defaulted from the environment.
type SecuritySource struct {
	TLS                       bool
	CAFile, CertFile, KeyFile string
	SASLMechanism, SASLUser   string
	// PasswordFile and TokenFile name the files the secrets are read
	// from; empty: the secret comes from the environment.
	PasswordFile, TokenFile string
	// PasswordFlag and TokenFlag name the two files' settings in errors.
	// Default --kafka-sasl-password-file, --kafka-sasl-token-file.
	PasswordFlag, TokenFlag string
	// Getenv reads the environment. Default os.Getenv.
	Getenv func(string) string
}

// ParseBool reads a boolean environment value: 1, true, yes, on or 0,
// false, no, off (any case); empty is false.
func ParseBool(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b, nil
	}
	return false, fmt.Errorf("%s=%q: want 1/true/yes or 0/false/no", name, v)
}

// Resolve returns the Security of src: the mechanism upper-cased, the
// password and token read from their file, or else from
// HOOKPIPE_KAFKA_SASL_PASSWORD / _TOKEN; both a file and the variable
// set is an error. The result is checked (Security.Check).
func (src SecuritySource) Resolve() (Security, error) {
	get := src.Getenv
	if get == nil {
		get = os.Getenv
	}
	s := Security{
		TLS: src.TLS, CAFile: src.CAFile, CertFile: src.CertFile, KeyFile: src.KeyFile,
		SASLMechanism: strings.ToUpper(strings.TrimSpace(src.SASLMechanism)), SASLUser: src.SASLUser,
	}
	pass, err := readSecret(src.PasswordFile, orDefault(src.PasswordFlag, "--kafka-sasl-password-file"), get(EnvSASLPassword), EnvSASLPassword)
	if err != nil {
		return Security{}, err
	}
	tok, err := readSecret(src.TokenFile, orDefault(src.TokenFlag, "--kafka-sasl-token-file"), get(EnvSASLToken), EnvSASLToken)
	if err != nil {
		return Security{}, err
	}
	s.SASLPassword, s.SASLToken = pass, tok
	return s, s.Check()
}

// readSecret returns the secret from file, or else envValue.
func readSecret(file, flagName, envValue, envName string) (Secret, error) {
	if file == "" {
		return Secret(envValue), nil
	}
	if envValue != "" {
		return "", fmt.Errorf("kafka security: both %s and %s are set; use one", flagName, envName)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("kafka security: %s: %w", flagName, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("kafka security: %s %s is empty", flagName, file)
	}
	return Secret(v), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// SecurityFromEnv returns the Security the HOOKPIPE_KAFKA_* variables
// describe, as 'hookpipe run' would see them without flags.
func SecurityFromEnv(getenv func(string) string) (Security, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	tlsOn, err := ParseBool(EnvTLS, getenv(EnvTLS))
	if err != nil {
		return Security{}, err
	}
	return SecuritySource{
		TLS: tlsOn, CAFile: getenv(EnvCAFile), CertFile: getenv(EnvCertFile), KeyFile: getenv(EnvKeyFile),
		SASLMechanism: getenv(EnvSASLMechanism), SASLUser: getenv(EnvSASLUser),
		PasswordFile: getenv(EnvSASLPasswordFile), TokenFile: getenv(EnvSASLTokenFile),
		PasswordFlag: EnvSASLPasswordFile, TokenFlag: EnvSASLTokenFile, Getenv: getenv,
	}.Resolve()
}

// Environ returns s as HOOKPIPE_KAFKA_* assignments for a child process's
// environment (exec.Cmd.Env, after os.Environ so that these win). Every
// variable is listed, the unused ones empty, so that nothing inherited
// contradicts s. The secrets are passed by value: the environment of a
// process is readable only by its user, unlike its arguments.
func (s Security) Environ() []string {
	tlsOn := ""
	if s.TLSOn() {
		tlsOn = "1"
	}
	return []string{
		EnvTLS + "=" + tlsOn,
		EnvCAFile + "=" + s.CAFile,
		EnvCertFile + "=" + s.CertFile,
		EnvKeyFile + "=" + s.KeyFile,
		EnvSASLMechanism + "=" + s.SASLMechanism,
		EnvSASLUser + "=" + s.SASLUser,
		EnvSASLPassword + "=" + s.SASLPassword.Reveal(),
		EnvSASLPasswordFile + "=",
		EnvSASLToken + "=" + s.SASLToken.Reveal(),
		EnvSASLTokenFile + "=",
	}
}
