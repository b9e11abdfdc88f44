package integration

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/stages"
)

// secureSuite skips the test unless the suite's broker is the SASL_SSL
// listener of `kafka-local.sh up --secure` (or one like it).
func secureSuite(t *testing.T) kafka.Security {
	t.Helper()
	sec := suiteBroker.security
	if !sec.TLSOn() || sec.SASLMechanism == "" {
		t.Skipf("the suite broker (%s, %s) is not a TLS+SASL listener: run `integration/kafka-local.sh up --secure` and export what it prints (or `make test-secure`)", suiteBroker.kind, sec)
	}
	return sec
}

// Each misconfiguration stops hookpipe before any stage with one line that
// says which it is, and creates nothing.
func TestSecureBrokerMisconfigurationsAreNamed(t *testing.T) {
	sec := secureSuite(t)
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1/x"`)
	wrongPassword := sec
	wrongPassword.SASLPassword, wrongPassword.SASLToken = "wrong-"+sec.SASLPassword+"-x", ""
	untrusted := sec
	untrusted.CAFile = os.Getenv("HOOKPIPE_IT_UNTRUSTED_CA_FILE")
	plaintext := sec
	plaintext.TLS, plaintext.CAFile, plaintext.CertFile, plaintext.KeyFile = false, "", "", ""
	cases := []struct {
		name    string
		brokers []string
		sec     kafka.Security
		kind    kafka.ConnectKind
		text    string
	}{
		{"wrong password", suiteBroker.addrs, wrongPassword, kafka.SASLFailed, "SASL authentication failed"},
		{"untrusted CA", suiteBroker.addrs, untrusted, kafka.UntrustedCertificate, "certificate is not trusted"},
		{"plaintext client, TLS listener", suiteBroker.addrs, plaintext, kafka.PlaintextToTLS, "plaintext client against a TLS listener"},
	}
	if pt := os.Getenv("HOOKPIPE_IT_PLAINTEXT_BROKERS"); pt != "" {
		cases = append(cases, struct {
			name    string
			brokers []string
			sec     kafka.Security
			kind    kafka.ConnectKind
			text    string
		}{"TLS client, plaintext listener", strings.Split(pt, ","), sec, kafka.TLSToPlaintext, "TLS client against a plaintext listener"})
	} else {
		t.Log("HOOKPIPE_IT_PLAINTEXT_BROKERS unset: the TLS-client-on-plaintext case is not run")
	}
	for _, tc := range cases {
		if tc.name == "untrusted CA" && tc.sec.CAFile == "" {
			t.Log("HOOKPIPE_IT_UNTRUSTED_CA_FILE unset: the untrusted-CA case is not run")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := stages.New(ctx, stages.Options{
			Connectors: nil, Kafka: kafka.Config{Brokers: tc.brokers, Security: tc.sec},
			Topics: e.topics(), Listen: "127.0.0.1:0",
		})
		cancel()
		var ce *kafka.ConnectError
		switch {
		case !errors.As(err, &ce):
			t.Errorf("%s: %v, want a *kafka.ConnectError", tc.name, err)
		case ce.Kind != tc.kind || !strings.Contains(err.Error(), tc.text) || strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: %q (kind %d), want one line with %q (kind %d)", tc.name, err, ce.Kind, tc.text, tc.kind)
		case strings.Contains(err.Error(), sec.SASLPassword.Reveal()):
			t.Errorf("%s: the error shows the password", tc.name)
		}
	}
	if n := e.endOffsetsIfExists(e.topics().Events()); n >= 0 {
		t.Errorf("%s exists: a failed start created topics", e.topics().Events())
	}
}

// The hookpipe binary with a wrong password exits 1 with a single line,
// not a stream of retries, and never prints the password.
func TestSecureWrongPasswordOneLine(t *testing.T) {
	sec := secureSuite(t)
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1/x"`)
	bad := sec
	bad.SASLPassword = "not-the-password-7d1e"
	cmd := exec.Command(hookpipeBinary(t), "run", "--brokers", strings.Join(suiteBroker.addrs, ","), "--listen", freeAddr(t),
		"--connectors", e.dir, "--topic-prefix", e.prefix, "--log-level", "debug", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), bad.Environ()...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "hookpipe: kafka ") || !strings.Contains(last, "SASL authentication failed") {
		t.Errorf("last line %q, want the SASL failure", last)
	}
	if strings.Count(string(out), "connection reset") > 0 || strings.Count(string(out), "level=WARN") > 0 {
		t.Errorf("warnings or resets before the error:\n%s", out)
	}
	for _, secret := range []string{"not-the-password-7d1e", sec.SASLPassword.Reveal()} {
		if strings.Contains(string(out), secret) {
			t.Errorf("a password shows in the output:\n%s", out)
		}
	}
}

// Mutual TLS with the run's client certificate, on top of SASL.
func TestSecureMutualTLS(t *testing.T) {
	sec := secureSuite(t)
	sec.CertFile, sec.KeyFile = os.Getenv("HOOKPIPE_IT_CLIENT_CERT_FILE"), os.Getenv("HOOKPIPE_IT_CLIENT_KEY_FILE")
	if sec.CertFile == "" {
		t.Skip("HOOKPIPE_IT_CLIENT_CERT_FILE unset (kafka-local.sh up --secure prints it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := (kafka.Config{Brokers: suiteBroker.addrs, Security: sec}).Preflight(ctx); err != nil {
		t.Fatalf("mutual TLS: %v", err)
	}
}

// endOffsetsIfExists returns the summed end offsets of topic, or -1 when
// it does not exist.
func (e *env) endOffsetsIfExists(topic string) int64 {
	e.t.Helper()
	cl, err := e.kafka().NewClient()
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	td, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		e.t.Fatalf("list topics: %v", err)
	}
	if !td.Has(topic) {
		return -1
	}
	return e.endOffsets(topic)
}

// With ACLs enforced, a topic prefix the principal has no ACLs for stops
// the start with the ACLs hookpipe needs, and nothing starts.
func TestSecureMissingACLsAreNamed(t *testing.T) {
	secureSuite(t)
	granted := os.Getenv("HOOKPIPE_IT_ACL_PREFIXES")
	if granted == "" {
		t.Skip("HOOKPIPE_IT_ACL_PREFIXES unset: the broker is not known to enforce ACLs (kafka-local.sh up --secure sets it)")
	}
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1/x"`)
	conns, _ := config.LoadConnectors(e.dir, nil)
	for _, verifyOnly := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := stages.New(ctx, stages.Options{
			Connectors: conns, Kafka: e.kafka(), Topics: pipeline.Topics{Prefix: "denied"}, Listen: "127.0.0.1:0",
			NoCreateTopics: verifyOnly,
		})
		cancel()
		want := `on topics with the prefix "denied.": `
		if err == nil || !strings.Contains(err.Error(), "TOPIC_AUTHORIZATION_FAILED") || !strings.Contains(err.Error(), want) {
			t.Errorf("no ACLs for the prefix (ACLs granted on %s), verify only %v: %v, want %q", granted, verifyOnly, err, want)
		}
	}
}

// OAUTHBEARER with a static token, on a broker that validates unsecured
// (unsigned) JWTs: a valid token for the user starts a pipeline, an
// expired one is named as an authentication failure.
func TestSecureOAuthBearer(t *testing.T) {
	sec := secureSuite(t)
	if os.Getenv("HOOKPIPE_IT_OAUTHBEARER_UNSECURED") == "" {
		t.Skip("HOOKPIPE_IT_OAUTHBEARER_UNSECURED unset: the broker is not known to take unsecured OAUTHBEARER tokens (kafka-local.sh up --secure sets it)")
	}
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1/x"`)
	conns, _ := config.LoadConnectors(e.dir, nil)
	now := time.Now().Unix()
	oauth := sec
	oauth.SASLMechanism, oauth.SASLUser, oauth.SASLPassword = kafka.MechanismOAuthBearer, "", ""
	oauth.SASLToken = kafka.Secret(unsecuredJWT(sec.SASLUser, now-60, now+3600))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := stages.New(ctx, stages.Options{
		Connectors: conns, Kafka: kafka.Config{Brokers: suiteBroker.addrs, Security: oauth}, Topics: e.topics(), Listen: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatalf("OAUTHBEARER with a valid token: %v", err)
	}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	if err := p.Run(stopped); err != nil {
		t.Errorf("stop: %v", err)
	}
	if n := e.endOffsetsIfExists(e.topics().Events()); n < 0 {
		t.Errorf("the pipeline on OAUTHBEARER did not create %s", e.topics().Events())
	}
	expired := oauth
	expired.SASLToken = kafka.Secret(unsecuredJWT(sec.SASLUser, now-7200, now-3600))
	err = kafka.Config{Brokers: suiteBroker.addrs, Security: expired}.Preflight(ctx)
	var ce *kafka.ConnectError
	if !errors.As(err, &ce) || ce.Kind != kafka.SASLFailed || strings.Contains(err.Error(), expired.SASLToken.Reveal()) {
		t.Errorf("an expired token: %v, want a SASL authentication failure without the token", err)
	}
}

// unsecuredJWT is an unsigned JWT ("alg":"none") for sub, as Kafka's
// unsecured OAUTHBEARER validator accepts.
func unsecuredJWT(sub string, iat, exp int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":%q,"iat":%d,"exp":%d}`, sub, iat, exp))) + "."
}
