package deliver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// A reload that changes only rate_limit is applied: the connector's gate
// and route are rebuilt with the new limit, and the records the old limit
// held back (read, not started) are sent under the new one, none lost.
// The old limit, 0.001/s, lets one request through and then holds the
// rest for 1000 s; so the other two arrive only if the new limit is in
// force.
func TestApplyNewRateLimit(t *testing.T) {
	topics := pipeline.Topics{Prefix: "rl"}
	srv, n := counting(t)
	u, _ := url.Parse(srv.URL)
	conn := func(rate float64) *pipeline.Connector {
		return &pipeline.Connector{Name: "c", URL: u, Timeout: time.Second, MaxInFlight: 4, RateLimit: rate,
			CircuitBreaker: pipeline.DefaultCircuitBreaker(), DisableAfter: pipeline.DefaultDisableAfter,
			Retry: pipeline.RetryPolicy{Backoff: []time.Duration{time.Minute}, MaxAge: time.Hour}}
	}
	before := conn(0.001)
	kc, prod := connectorCluster(t, 1, topics, before)
	h := health.New(health.Config{Connectors: []*pipeline.Connector{before}})
	s, err := NewDeliver(Config{Connectors: []*pipeline.Connector{before}, Topics: topics, Kafka: kc, Producer: prod, Health: h})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := range 3 {
		if err := prod.ProduceSync(ctx, record(topics.Connector("c"), time.Now(), i)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the one request the old rate limit allows", func() bool { return n.Load() == 1 })
	after := []*pipeline.Connector{conn(1000)}
	h.Update(after)
	if err := s.Apply(ctx, after); err != nil {
		t.Fatal(err)
	}
	if r := h.Gate("c").Limiter().Rate(); r != 1000 {
		t.Errorf("the gate's rate after the reload: %v requests/s, want 1000", r)
	}
	waitFor(t, "the two held records under the new rate limit", func() bool { return n.Load() == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A CA file rewritten under the same path is applied by a reload: the
// connector, which refused the endpoint's certificate with the old CA,
// delivers once the new CA is loaded, through a new connection pool.
func TestApplyRotatedCAFile(t *testing.T) {
	caOld, caNew := newCA(t), newCA(t)
	certPEM, keyPEM := caNew.issue(t, 2, x509.ExtKeyUsageServerAuth)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	src := "connector \"c\" {\n  url = \"" + srv.URL + "\"\n  timeout = \"2s\"\n  tls { ca_file = \"ca.pem\" }\n}\n"
	load := func(ca []byte) *pipeline.Connector {
		t.Helper()
		for name, b := range map[string][]byte{"c.hcl": []byte(src), "ca.pem": ca} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		conns, diags := config.LoadConnectors(dir, func(string) (string, bool) { return "", false })
		if diags.HasErrors() {
			t.Fatal(config.FormatDiagnostics(diags))
		}
		return conns[0]
	}
	before := load(caOld.pem)
	topics := pipeline.Topics{Prefix: "ca"}
	kc, prod := connectorCluster(t, 1, topics, before)
	m := metrics.NewMetrics()
	s, err := NewDeliver(Config{Connectors: []*pipeline.Connector{before}, Topics: topics, Kafka: kc, Producer: prod, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	produce := func(i int) {
		t.Helper()
		if err := prod.ProduceSync(ctx, record(topics.Connector("c"), time.Now(), i)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0)
	waitFor(t, "a failed request with the old CA", func() bool { return m.Connector("c").Stats().ErrorCount == 1 })
	if err := s.Apply(ctx, []*pipeline.Connector{load(caNew.pem)}); err != nil {
		t.Fatal(err)
	}
	produce(1)
	waitFor(t, "the request with the new CA", func() bool { return n.Load() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
