package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// Every command that takes --brokers takes the same security flags; none
// takes a password or token as a flag value.
func TestSecurityFlagsOnEveryBrokersCommand(t *testing.T) {
	for _, cmd := range []struct {
		name     string
		register func(*flag.FlagSet)
	}{
		{"run", func(fs *flag.FlagSet) { (&runFlags{}).register(fs) }},
		{"bench", func(fs *flag.FlagSet) { (&benchFlags{}).register(fs) }},
		{"replay", func(fs *flag.FlagSet) { replayFlagSet(fs) }},
	} {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.register(fs)
		if fs.Lookup("brokers") == nil {
			t.Fatalf("%s has no --brokers", cmd.name)
		}
		for _, name := range []string{"kafka-tls", "kafka-ca-file", "kafka-cert-file", "kafka-key-file", "kafka-sasl-mechanism", "kafka-sasl-user", "kafka-sasl-password-file", "kafka-sasl-token-file"} {
			if fs.Lookup(name) == nil {
				t.Errorf("%s lacks --%s", cmd.name, name)
			}
		}
		for _, name := range []string{"kafka-sasl-password", "kafka-sasl-token"} {
			if fs.Lookup(name) != nil {
				t.Errorf("%s has --%s: a secret in a flag shows in ps", cmd.name, name)
			}
		}
	}
}

// The flags default to HOOKPIPE_KAFKA_*; the password comes from the
// environment or a file, not both.
func TestSecurityFlagsFromEnv(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(kafka.EnvTLS, "1")
	t.Setenv(kafka.EnvSASLMechanism, "scram-sha-256")
	t.Setenv(kafka.EnvSASLUser, "env-user")
	t.Setenv(kafka.EnvSASLPassword, "from-env")
	sec := parseSecurity(t)
	if !sec.TLS || sec.SASLMechanism != kafka.MechanismScramSHA256 || sec.SASLUser != "env-user" || sec.SASLPassword.Reveal() != "from-env" {
		t.Errorf("from the environment: %+v", sec)
	}
	sec = parseSecurity(t, "--kafka-tls=false", "--kafka-sasl-user", "flag-user")
	if sec.TLS || sec.SASLUser != "flag-user" {
		t.Errorf("flags do not override the environment: %+v", sec)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := bindKafkaSecurity(fs)
	_ = fs.Parse([]string{"--kafka-sasl-password-file", pw})
	if _, err := f.security(); err == nil || !strings.Contains(err.Error(), "use one") {
		t.Errorf("password file and variable both set: %v", err)
	}
	t.Setenv(kafka.EnvSASLPassword, "")
	if sec, err := f.security(); err != nil || sec.SASLPassword.Reveal() != "from-file" {
		t.Errorf("password file: %v", err)
	}
}

func parseSecurity(t *testing.T, args ...string) kafka.Security {
	t.Helper()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := bindKafkaSecurity(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	sec, err := f.security()
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// 'hookpipe run' with the wrong SASL password stops before any stage with
// one line that says so and does not show the password.
func TestRunWrongPasswordFailsClearly(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(kafka.MechanismScramSHA512, "hookpipe", "right-pw-1f2e"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	writeConnector(t, dir, "a.hcl", "connector \"a\" {\n  url = \"https://a.example/h\"\n}\n")
	t.Setenv(kafka.EnvSASLPassword, "wrong-pw-9c8b")
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"run", "--connectors", dir, "--listen", "127.0.0.1:0", "--brokers", c.ListenAddrs()[0],
		"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", "hookpipe"}, &out, &errOut)
	var ce *kafka.ConnectError
	if !errors.As(err, &ce) || ce.Kind != kafka.SASLFailed || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v, want one line saying SASL authentication failed", err)
	}
	if all := err.Error() + errOut.String(); strings.Contains(all, "wrong-pw-9c8b") || strings.Contains(all, "right-pw-1f2e") {
		t.Errorf("a password shows:\n%s", all)
	}
	if strings.Contains(errOut.String(), "hookpipe running") {
		t.Errorf("the pipeline started:\n%s", errOut.String())
	}
}

// The security settings apply to --brokers; with the embedded broker they
// are an error rather than silently ignored.
func TestRunSecurityNeedsBrokers(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--connectors", t.TempDir(), "--kafka-tls"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "apply to --brokers") {
		t.Errorf("err %v", err)
	}
}
