package stages

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testOptions returns options for a process on a fresh embedded broker,
// with connectors "a" and "b" enabled and "off" disabled.
func testOptions(t *testing.T, stages ...string) Options {
	t.Helper()
	c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	u, _ := url.Parse("http://127.0.0.1:1/hook")
	var conns []*pipeline.Connector
	for _, name := range []string{"a", "b", "off"} {
		conns = append(conns, &pipeline.Connector{
			Name: name, URL: u, Disabled: name == "off", Timeout: time.Second, MaxInFlight: 10,
			Retry: pipeline.RetryPolicy{Backoff: []time.Duration{time.Second, time.Minute}, MaxAge: time.Hour},
		})
	}
	return Options{
		Connectors: conns, Kafka: kafka.Config{Brokers: c.ListenAddrs()}, Topics: pipeline.Topics{Prefix: "t"},
		TopicOptions: kafka.TopicOptions{Partitions: 2, ReplicationFactor: 1},
		Stages:       stages, Listen: "127.0.0.1:0", Logger: quiet,
	}
}

// buildProcess builds a process that the test closes.
func buildProcess(t *testing.T, opts Options) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.ln.Close(); p.closeClients() })
	return p
}

func stageNamesOf(p *Process) []string {
	var out []string
	for _, s := range p.runner.stages {
		out = append(out, s.Name())
	}
	return out
}

// --stages decides what a process runs: fanout once (with the latest-values
// writer beside it), one deliver and one retry stage for all connectors,
// and the ingest route and its transactional writer stage only with ingest.
func TestBuildStagesFollowsStageList(t *testing.T) {
	tests := []struct {
		stages []string
		want   []string
		ingest bool
	}{
		{nil, []string{"ingest", "fanout", "latest", "deliver", "retry"}, true},
		{[]string{"ingest"}, []string{"ingest"}, true},
		{[]string{"ingest", "fanout"}, []string{"ingest", "fanout", "latest"}, true},
		{[]string{"deliver"}, []string{"deliver"}, false},
		{[]string{"retry", "fanout"}, []string{"fanout", "latest", "retry"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.stages, ","), func(t *testing.T) {
			p := buildProcess(t, testOptions(t, tt.stages...))
			want := append(tt.want, "state store", "health") // every process: the API's :disable and :enable
			if got := stageNamesOf(p); !slices.Equal(got, want) {
				t.Errorf("stages %v, want %v", got, want)
			}
			w := httptest.NewRecorder()
			p.server.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader("{}")))
			if served := w.Code != http.StatusNotFound; served != tt.ingest {
				t.Errorf("POST /v1/events answered %d; ingest served %v, want %v", w.Code, served, tt.ingest)
			}
		})
	}
}

// A stage list naming an unknown stage is refused before Kafka is
// contacted, with the known stages in the message.
func TestNewRefusesUnknownStage(t *testing.T) {
	_, err := New(context.Background(), Options{Stages: []string{"ingest", "delivr"}, Kafka: kafka.Config{Brokers: []string{"127.0.0.1:1"}}})
	if err == nil || !strings.Contains(err.Error(), `unknown stage "delivr"`) || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("err = %v, want unknown stage \"delivr\" with the list", err)
	}
}

// /readyz answers 503 naming what it waits for until Run started every
// stage and each consumer joined its group, then 200; a cancelled Run
// stops cleanly.
func TestReadyzWaitsForEveryStage(t *testing.T) {
	p := buildProcess(t, testOptions(t))
	if code, body := get(t, p, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not started") {
		t.Errorf("before Run: %d %s, want 503 not started", code, body)
	}
	p.ready.Store(true) // as if serving, with no stage running yet
	if code, body := get(t, p, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "waiting for stages starting") {
		t.Errorf("stages not running: %d %s, want 503 waiting for stages starting", code, body)
	}
	p.ready.Store(false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get(t, p, "/readyz")
		if code == http.StatusOK {
			break
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "not started") && !strings.Contains(body, "waiting for") {
			t.Fatalf("/readyz answered %d %s", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 60s: %s", body)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
	for _, s := range p.runner.stages {
		if r, ok := s.(Readier); ok && !r.Ready() {
			t.Errorf("/readyz said ready while %s had not joined its group", s.Name())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30s of cancel")
	}
}

// get serves one GET request on p's handler.
func get(t *testing.T, p *Process, path string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	p.server.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w.Code, w.Body.String()
}

// New binds the HTTP listener before it contacts Kafka: with the address
// busy and no broker answering, the error is the bind error.
func TestNewFailsFirstOnBusyListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = New(context.Background(), Options{
		Kafka:  kafka.Config{Brokers: []string{"127.0.0.1:1"}},
		Listen: busy.Addr().String(),
	})
	if err == nil || !strings.Contains(err.Error(), "listen on "+busy.Addr().String()) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err %v, want the bind error", err)
	}
}
