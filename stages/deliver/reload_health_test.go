package deliver

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
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
