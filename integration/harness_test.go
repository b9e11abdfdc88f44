package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages"
)

// env is one test's world: a unique topic prefix on the suite's broker.
type env struct {
	t      *testing.T
	prefix string
	dir    string // connectors.d
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Logf("broker: %s (%s)", suiteBroker.kind, strings.Join(suiteBroker.addrs, ","))
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	return &env{t: t, prefix: "it-" + name + "-" + hex.EncodeToString(b[:]), dir: t.TempDir()}
}

// connector writes one connector file; hcl is the block body.
func (e *env) connector(name, body string) {
	e.t.Helper()
	src := fmt.Sprintf("connector %q {\n%s\n}\n", name, body)
	if err := os.WriteFile(filepath.Join(e.dir, name+".hcl"), []byte(src), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) kafka() kafka.Config {
	return kafka.Config{Brokers: suiteBroker.addrs, ClientID: "hookpipe-it", Security: suiteBroker.security}
}

func (e *env) topics() pipeline.Topics { return pipeline.Topics{Prefix: e.prefix} }

// running is a pipeline started by start.
type running struct {
	p      *stages.Process
	cancel context.CancelFunc
	done   chan error
}

// start loads the connectors and runs a pipeline until stop or the end of
// the test.
func (e *env) start(stageList ...string) *running {
	e.t.Helper()
	conns, diags := config.LoadConnectors(e.dir, os.LookupEnv)
	if diags.HasErrors() {
		e.t.Fatalf("connectors: %s", config.FormatDiagnostics(diags))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := stages.New(ctx, stages.Options{
		Connectors:   conns,
		Kafka:        e.kafka(),
		Topics:       e.topics(),
		TopicOptions: kafka.TopicOptions{Partitions: 3},
		Stages:       stageList,
		Listen:       "127.0.0.1:0",
		Version:      "test",
		Logger:       slog.New(slog.NewTextHandler(testWriter{e.t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		e.t.Fatalf("start pipeline: %v", err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: rcancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(rctx) }()
	e.t.Cleanup(func() { r.stop() })
	return r
}

// stop stops the pipeline cleanly and returns Run's error.
func (r *running) stop() error {
	r.cancel()
	err, ok := <-r.done
	if ok {
		close(r.done)
	}
	return err
}

func (r *running) url(path string) string { return "http://" + r.p.Addr() + path }

// post sends body to /v1/events and returns the status and decoded answer.
func (r *running) post(t *testing.T, contentType string, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(r.url("/v1/events"), contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v1/events: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// fixture returns the NDJSON file with one event of every type.
func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/ingest-one-of-each-type.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// events makes n distinct temperature envelopes as NDJSON, with ids
// <tag>-<i>.
func events(tag string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"event":{"eventId":"%s-%d","targetName":"projects/p1/devices/d%d","eventType":"temperature","data":{"temperature":{"value":%d.5,"updateTime":"2026-11-25T10:00:00Z"}}},"labels":{"name":"Sensor %d"}}`+"\n", tag, i, i%50, i%40, i)
	}
	return b.Bytes()
}

// receiver is an endpoint that records what it was sent. Its answer is
// decided by respond (nil: 204).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	ok       map[string]int // eventId → 2xx answers
	attempts map[string]int // eventId → requests
	requests []*recorded
	respond  func(eventID string, attempt int) int
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond func(eventID string, attempt int) int) *receiver {
	rc := &receiver{ok: map[string]int{}, attempts: map[string]int{}, respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b struct {
		Event struct {
			EventID string `json:"eventId"`
		} `json:"event"`
	}
	_ = json.Unmarshal(body, &b)
	id := b.Event.EventID
	rc.mu.Lock()
	rc.attempts[id]++
	n := rc.attempts[id]
	rc.requests = append(rc.requests, &recorded{header: r.Header.Clone(), body: body})
	rc.mu.Unlock()
	code := http.StatusNoContent
	if rc.respond != nil {
		code = rc.respond(id, n)
	}
	if code < 300 {
		rc.mu.Lock()
		rc.ok[id]++
		rc.mu.Unlock()
	}
	w.WriteHeader(code)
}

// delivered returns how many distinct events were acknowledged.
func (rc *receiver) delivered() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.ok)
}

func (rc *receiver) snapshot() (ok map[string]int, reqs []*recorded) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ok = make(map[string]int, len(rc.ok))
	for k, v := range rc.ok {
		ok[k] = v
	}
	return ok, append([]*recorded(nil), rc.requests...)
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// endOffsets sums the end offsets of topic's partitions.
func (e *env) endOffsets(topic string) int64 {
	e.t.Helper()
	cl, err := e.kafka().NewClient()
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		e.t.Fatalf("end offsets of %s: %v", topic, err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// readAll reads n records of topic from the start.
func (e *env) readAll(topic string, n int) []*kgo.Record {
	e.t.Helper()
	cl, err := e.kafka().NewClient(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
