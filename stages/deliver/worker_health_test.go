package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// The worker tells the connector's gate each answer: a 429 with
// Retry-After throttles the connector (and counts in
// hookpipe_throttled_total), a 410 disables it; either way the event
// moves to the next retry tier, and an expired event goes to the DLQ.
func TestWorkerTellsTheGate(t *testing.T) {
	status := http.StatusTooManyRequests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	w, read := testWorker(t, srv, "")
	m := metrics.NewMetrics()
	h := health.New(health.Config{Connectors: []*pipeline.Connector{w.conn}, Metrics: m})
	w.gate, w.metrics = h.Gate("c"), m.Connector("c")

	r := record(w.topics.Connector("c"), time.Now(), 0)
	if ok, _ := w.gate.Admit(r, time.Now(), 0); !ok {
		t.Fatal("gate refused the first record")
	}
	if err := w.handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := next(t, read); got.Topic != w.topics.Retry("c", 0) {
		t.Errorf("throttled event went to %s", got.Topic)
	}
	s := h.Gate("c").Status(time.Now())
	// The wait is capped at the largest backoff (1m): Retry-After 30 holds.
	if s.State != health.StateThrottled || s.Until.Sub(time.Now()) < 29*time.Second {
		t.Errorf("after a 429 with Retry-After 30: %+v", s)
	}

	status = http.StatusGone
	r = record(w.topics.Retry("c", 0), time.Now(), 1)
	if err := w.handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got := next(t, read); got.Topic != w.topics.Retry("c", 1) {
		t.Errorf("event answered 410 went to %s", got.Topic)
	}
	if s := h.Gate("c").Status(time.Now()); s.State != health.StateSystemDisabled {
		t.Errorf("after a 410: %s", s.State)
	}
	old := record(w.topics.Retry("c", 1), time.Now().Add(-2*time.Hour), 3)
	if err := w.handle(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if got := next(t, read); got.Topic != w.topics.DLQ("c") {
		t.Errorf("expired event went to %s", got.Topic)
	}
}
