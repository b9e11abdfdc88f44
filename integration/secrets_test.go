package integration

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/hookpipe/hookpipe/stages"
)

// Secrets — a signature secret, a header value read with env(), the ingest
// token — never appear in the logs of a whole run (at debug level, with
// failures and retries), in /v1/connectors, or in /metrics.
func TestSecretsNeverShown(t *testing.T) {
	e := newEnv(t)
	const sigSecret, headerSecret, token = "sig-7f3a9c1e55", "hdr-5d2b8e0f44", "tok-9a8b7c6d33"
	t.Setenv("IT_HEADER_SECRET", headerSecret)
	rc := newReceiver(t, func(_ string, attempt int) int {
		if attempt == 1 {
			return http.StatusUnauthorized
		}
		return http.StatusOK
	})
	e.connector("guarded", `url = "`+rc.URL+`"
  signature_secret = "`+sigSecret+`"
  headers = { "X-Api-Key" = env("IT_HEADER_SECRET") }
  retry {
    backoff = ["100ms"]
  }`)
	var logs syncBuffer
	p, done := e.startWith(stages.Options{IngestToken: token, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	base := "http://" + p.Addr()

	req, _ := http.NewRequest(http.MethodPost, base+"/v1/events", bytes.NewReader(events("sec", 5)))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest with the token: %v %v", err, resp)
	}
	resp.Body.Close()
	bad, _ := http.Post(base+"/v1/events", "application/json", bytes.NewReader(events("x", 1)))
	if bad.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ingest without the token: %d, want 401", bad.StatusCode)
	}
	bad.Body.Close()
	waitFor(t, time.Minute, "deliveries after a 401", func() bool { return rc.delivered() == 5 })

	var shown strings.Builder
	for _, path := range []string{"/v1/connectors", "/v1/connectors/guarded", "/metrics", "/readyz"} {
		shown.WriteString(get(t, base+path))
	}
	done()
	shown.WriteString(logs.String())
	secrets := []string{sigSecret, headerSecret, token}
	if sec := suiteBroker.security; sec.SASLPassword != "" || sec.SASLToken != "" {
		secrets = append(secrets, sec.SASLPassword.Reveal(), sec.SASLToken.Reveal()) // the run above used them
	}
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		if strings.Contains(shown.String(), secret) {
			t.Errorf("secret %q appears in the API, metrics or logs", secret)
		}
	}
	if !strings.Contains(shown.String(), `"signed":true`) || !strings.Contains(shown.String(), `"X-Api-Key":"(redacted)"`) {
		t.Errorf("connector view does not say it is signed and which headers it sets:\n%s", shown.String())
	}
}

// A Kafka SASL password or token never appears in the error or the debug
// log of a start that fails on it: with the suite's mechanism and a wrong
// password on a secure broker, or SASL against a broker that has none.
func TestKafkaSecretsNeverShown(t *testing.T) {
	e := newEnv(t)
	const password, token = "kpw-4e7a1b9c22", "ktok-6c3d9e8f11"
	cases := []kafka.Security{
		{SASLMechanism: kafka.MechanismScramSHA512, SASLUser: "it", SASLPassword: password},
		{SASLMechanism: kafka.MechanismOAuthBearer, SASLToken: token},
	}
	for i := range cases {
		cases[i].TLS, cases[i].CAFile = suiteBroker.security.TLS, suiteBroker.security.CAFile
	}
	if sec := suiteBroker.security; sec.SASLMechanism != "" {
		wrong := sec
		wrong.SASLPassword, wrong.SASLToken = password, ""
		if sec.SASLMechanism == kafka.MechanismOAuthBearer {
			wrong.SASLPassword, wrong.SASLToken = "", token
		}
		cases = append(cases, wrong)
	}
	for _, sec := range cases {
		var logs syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := stages.New(ctx, stages.Options{
			Kafka:  kafka.Config{Brokers: suiteBroker.addrs, Security: sec, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))},
			Topics: e.topics(), Listen: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		cancel()
		if err == nil {
			t.Errorf("%s: started with a wrong credential", sec)
			continue
		}
		shown := err.Error() + "\n" + logs.String()
		for _, secret := range []string{password, token} {
			if strings.Contains(shown, secret) {
				t.Errorf("%s: the secret shows:\n%s", sec, shown)
			}
		}
	}
}

// startWith runs a pipeline with opts on top of the env's defaults and
// returns it with a function that stops it and waits.
func (e *env) startWith(opts stages.Options) (*stages.Process, func()) {
	e.t.Helper()
	conns, diags := config.LoadConnectors(e.dir, os.LookupEnv)
	if diags.HasErrors() {
		e.t.Fatalf("connectors: %s", config.FormatDiagnostics(diags))
	}
	opts.Connectors, opts.Kafka, opts.Topics = conns, e.kafka(), e.topics()
	opts.TopicOptions = kafka.TopicOptions{Partitions: 3}
	opts.Listen, opts.Version = "127.0.0.1:0", "test"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := stages.New(ctx, opts)
	if err != nil {
		e.t.Fatalf("start pipeline: %v", err)
	}
	rctx, stop := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(rctx) }()
	var once sync.Once
	done := func() {
		once.Do(func() {
			stop()
			if err := <-errc; err != nil {
				e.t.Errorf("pipeline stopped with %v", err)
			}
		})
	}
	e.t.Cleanup(done)
	return p, done
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
