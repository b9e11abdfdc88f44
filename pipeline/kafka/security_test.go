package kafka

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

const testPassword, testToken = "pw-3b9e1c7a55", "tok-8d2f6a0c44"

func TestSecurityCheckNamesTheWrongSetting(t *testing.T) {
	for _, tc := range []struct {
		s    Security
		want string
	}{
		{Security{CertFile: "c.pem"}, "--kafka-key-file"},
		{Security{SASLMechanism: "GSSAPI", SASLUser: "u", SASLPassword: "p"}, `"GSSAPI": want one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER`},
		{Security{SASLMechanism: MechanismScramSHA512, SASLPassword: "p"}, "needs --kafka-sasl-user"},
		{Security{SASLMechanism: MechanismPlain, SASLUser: "u"}, "HOOKPIPE_KAFKA_SASL_PASSWORD or --kafka-sasl-password-file"},
		{Security{SASLMechanism: MechanismOAuthBearer}, "HOOKPIPE_KAFKA_SASL_TOKEN or --kafka-sasl-token-file"},
		{Security{SASLMechanism: MechanismOAuthBearer, SASLToken: "t", SASLPassword: "p"}, "OAUTHBEARER uses a token"},
		{Security{SASLUser: "u"}, "no --kafka-sasl-mechanism"},
	} {
		err := tc.s.Check()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%v) = %v, want an error with %q", tc.s, err, tc.want)
		}
	}
	if err := (Security{}).Check(); err != nil {
		t.Errorf("the zero Security: %v", err)
	}
}

// Each mechanism builds franz-go's own mechanism with the credentials; the
// first message it sends carries them as the mechanism defines.
func TestSecurityMechanisms(t *testing.T) {
	for _, tc := range []struct {
		s         Security
		firstHas  string
		firstNot  string
		wantFirst bool
	}{
		{Security{SASLMechanism: MechanismPlain, SASLUser: "hp", SASLPassword: testPassword}, "\x00hp\x00" + testPassword, "", true},
		{Security{SASLMechanism: MechanismScramSHA256, SASLUser: "hp", SASLPassword: testPassword}, "n,,n=hp,r=", testPassword, true},
		{Security{SASLMechanism: MechanismScramSHA512, SASLUser: "hp", SASLPassword: testPassword}, "n,,n=hp,r=", testPassword, true},
		{Security{SASLMechanism: MechanismOAuthBearer, SASLToken: testToken}, "auth=Bearer " + testToken, "", true},
	} {
		m := tc.s.mechanism()
		if m == nil || m.Name() != tc.s.SASLMechanism {
			t.Fatalf("%s: mechanism %v", tc.s.SASLMechanism, m)
		}
		_, first, err := m.Authenticate(context.Background(), "127.0.0.1:9092")
		if err != nil {
			t.Fatalf("%s: %v", tc.s.SASLMechanism, err)
		}
		if !bytes.Contains(first, []byte(tc.firstHas)) || (tc.firstNot != "" && bytes.Contains(first, []byte(tc.firstNot))) {
			t.Errorf("%s: first message %q, want it to contain %q", tc.s.SASLMechanism, first, tc.firstHas)
		}
		if opts, err := tc.s.Opts(); err != nil || len(opts) != 1 {
			t.Errorf("%s: Opts() = %d options, %v; want the SASL option only", tc.s.SASLMechanism, len(opts), err)
		}
	}
	if opts, err := (Security{}).Opts(); err != nil || len(opts) != 0 {
		t.Errorf("zero Security: %d options, %v; want none", len(opts), err)
	}
}

// PLAIN and both SCRAMs authenticate against a SASL broker (kfake), and a
// wrong password is told apart from everything else.
func TestPreflightSASL(t *testing.T) {
	shortTimeouts(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser(MechanismPlain, "plain-user", testPassword),
		kfake.Superuser(MechanismScramSHA256, "scram256", testPassword),
		kfake.Superuser(MechanismScramSHA512, "scram512", testPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, m := range []struct{ mech, user string }{{MechanismPlain, "plain-user"}, {MechanismScramSHA256, "scram256"}, {MechanismScramSHA512, "scram512"}} {
		ok := Config{Brokers: c.ListenAddrs(), Security: Security{SASLMechanism: m.mech, SASLUser: m.user, SASLPassword: testPassword}}
		if err := ok.Preflight(ctx); err != nil {
			t.Errorf("%s with the right password: %v", m.mech, err)
		}
		bad := ok
		bad.Security.SASLPassword = "wrong-" + testPassword
		err := bad.Preflight(ctx)
		wantKind(t, m.mech+" wrong password", err, SASLFailed, "SASL authentication")
		if err != nil && strings.Contains(err.Error(), testPassword) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	none := Config{Brokers: c.ListenAddrs()}
	wantKind(t, "no SASL against a SASL broker", none.Preflight(ctx), SASLRequired, "requires SASL")
	oauth := Config{Brokers: c.ListenAddrs(), Security: Security{SASLMechanism: MechanismOAuthBearer, SASLToken: testToken}}
	wantKind(t, "a mechanism the broker lacks", oauth.Preflight(ctx), SASLMismatch, "does not offer SASL OAUTHBEARER")
}

// TLS: verified against the CA file; an untrusted CA, a plaintext client
// on the TLS listener and a TLS client on a plaintext one each get their
// own error.
func TestPreflightTLS(t *testing.T) {
	shortTimeouts(t)
	ca, other := newTestCA(t, "hookpipe-test-ca"), newTestCA(t, "someone-else")
	serverCert, _, _ := ca.issue(t, "broker")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx := context.Background()
	if err := (Config{Brokers: c.ListenAddrs(), Security: Security{CAFile: ca.file}}).Preflight(ctx); err != nil {
		t.Errorf("TLS with the right CA: %v", err)
	}
	wantKind(t, "untrusted CA", Config{Brokers: c.ListenAddrs(), Security: Security{TLS: true, CAFile: other.file}}.Preflight(ctx),
		UntrustedCertificate, "not trusted")
	wantKind(t, "system CAs", Config{Brokers: c.ListenAddrs(), Security: Security{TLS: true}}.Preflight(ctx),
		UntrustedCertificate, "set --kafka-ca-file")
	wantKind(t, "plaintext client, TLS listener", Config{Brokers: c.ListenAddrs()}.Preflight(ctx),
		PlaintextToTLS, "plaintext client against a TLS listener")
	wantKind(t, "TLS client, plaintext listener", Config{Brokers: plain.ListenAddrs(), Security: Security{TLS: true, CAFile: ca.file}}.Preflight(ctx),
		TLSToPlaintext, "TLS client against a plaintext listener")
}

// Mutual TLS: the client certificate and key are loaded and presented.
func TestPreflightMutualTLS(t *testing.T) {
	ca := newTestCA(t, "hookpipe-test-ca")
	serverCert, _, _ := ca.issue(t, "broker")
	_, certFile, keyFile := ca.issue(t, "client")
	pool := ca.pool()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := (Config{Brokers: c.ListenAddrs(), Security: Security{CAFile: ca.file, CertFile: certFile, KeyFile: keyFile}}).Preflight(ctx); err != nil {
		t.Errorf("mutual TLS: %v", err)
	}
	wantKind(t, "no client certificate", Config{Brokers: c.ListenAddrs(), Security: Security{CAFile: ca.file}}.Preflight(ctx),
		TLSRefused, "client certificate")
	_, err = Security{CertFile: filepath.Join(t.TempDir(), "none.pem"), KeyFile: keyFile}.Opts()
	if err == nil || !strings.Contains(err.Error(), "--kafka-cert-file") {
		t.Errorf("a missing certificate file: %v", err)
	}
}

// shortTimeouts shortens the preflight's bounds for kfake, which waits
// for the rest of a request a wrong-protocol client never sends where
// Kafka closes the connection at once.
func shortTimeouts(t *testing.T) {
	pre, probe := preflightTimeout, probeTimeout
	preflightTimeout, probeTimeout = 2*time.Second, 500*time.Millisecond
	t.Cleanup(func() { preflightTimeout, probeTimeout = pre, probe })
}

func wantKind(t *testing.T, what string, err error, kind ConnectKind, text string) {
	t.Helper()
	var ce *ConnectError
	if !errors.As(err, &ce) {
		t.Errorf("%s: %v, want a *ConnectError", what, err)
		return
	}
	if ce.Kind != kind || !strings.Contains(ce.Error(), text) || strings.Contains(ce.Error(), "\n") {
		t.Errorf("%s: kind %d %q, want kind %d, one line with %q", what, ce.Kind, ce.Error(), kind, text)
	}
}

// The secrets do not show when a Security is printed, logged or encoded.
func TestSecurityHidesSecrets(t *testing.T) {
	s := Security{TLS: true, SASLMechanism: MechanismScramSHA512, SASLUser: "hp", SASLPassword: testPassword, SASLToken: testToken}
	var out bytes.Buffer
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&out, f+"\n", s)
		fmt.Fprintf(&out, f+"\n", s.SASLPassword)
	}
	fmt.Fprintf(&out, "%+v\n", Config{Brokers: []string{"b:9092"}, Security: s})
	j, _ := json.Marshal(s)
	out.Write(j)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "security", s, "password", s.SASLPassword)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "security", s, "token", s.SASLToken)
	for _, secret := range []string{testPassword, testToken} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("secret %q shows in:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "SASL SCRAM-SHA-512 as hp") {
		t.Errorf("the description does not name the mechanism and user:\n%s", out.String())
	}
}

func TestSecurityFromEnv(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{EnvTLS: "true", EnvCAFile: "/ca.pem", EnvSASLMechanism: "scram-sha-512", EnvSASLUser: "hp", EnvSASLPasswordFile: pwFile}
	s, err := SecurityFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Security{TLS: true, CAFile: "/ca.pem", SASLMechanism: MechanismScramSHA512, SASLUser: "hp", SASLPassword: testPassword}
	if s != want {
		t.Errorf("SecurityFromEnv = %#v, want %#v", s, want)
	}
	// Environ hands the same settings to a child, overriding what it inherits.
	child := map[string]string{EnvSASLTokenFile: "/inherited"}
	for _, kv := range s.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		child[k] = v
	}
	if got, err := SecurityFromEnv(func(k string) string { return child[k] }); err != nil || got != want {
		t.Errorf("through Environ: %#v, %v; want %#v", got, err, want)
	}
	env[EnvSASLPassword] = "also-set"
	if _, err := SecurityFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "use one") {
		t.Errorf("a password file and variable both set: %v", err)
	}
	env = map[string]string{EnvTLS: "maybe"}
	if _, err := SecurityFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), EnvTLS) {
		t.Errorf("a bad %s: %v", EnvTLS, err)
	}
}
