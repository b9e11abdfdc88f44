package health

import (
	"context"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Update keeps the gate of an unchanged connector (with its state), gives
// a changed or new one a fresh gate, and forgets a removed one.
func TestHealthUpdate(t *testing.T) {
	named := func(name string, maxInFlight int) *pipeline.Connector {
		return testConnector(func(c *pipeline.Connector) { c.Name, c.MaxInFlight = name, maxInFlight })
	}
	h := New(Config{Connectors: []*pipeline.Connector{named("keep", 8), named("change", 8), named("gone", 8)}})
	ctx := context.Background()
	if err := h.SetAdmin(ctx, "keep", Admin{State: StateUserDisabled, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	keep, change := h.Gate("keep"), h.Gate("change")
	h.Update([]*pipeline.Connector{named("keep", 8), named("change", 16), named("new", 8)})
	now := time.Now()
	if h.Gate("keep") != keep || h.Gate("keep").Status(now).State != StateUserDisabled {
		t.Error("an unchanged connector lost its gate or its state")
	}
	if h.Gate("change") == change || h.Gate("change") == nil {
		t.Error("a changed connector kept its old gate")
	}
	if h.Gate("new") == nil {
		t.Error("an added connector has no gate")
	}
	if _, ok := h.View("gone", now); ok || h.Gate("gone") != nil {
		t.Error("a removed connector still has a gate")
	}
	if err := h.SetAdmin(ctx, "gone", Admin{State: StateActive}); err == nil {
		t.Error("SetAdmin of a removed connector succeeded")
	}
	h.Tick(now) // walks the new set
}

// A rate_limit changed by a reload is in force at once, at this
// process's share of the connector's partitions: the new gate does not
// send at the whole cluster's rate until the next Tick.
func TestHealthUpdateRateLimitShare(t *testing.T) {
	limited := func(rate float64) *pipeline.Connector {
		return testConnector(func(c *pipeline.Connector) { c.RateLimit = rate })
	}
	h := New(Config{Connectors: []*pipeline.Connector{limited(100)}, Partitions: func(*pipeline.Connector) int { return 12 }})
	h.AddSource(func(fn func(string, int, time.Time)) { fn("c", 3, time.Time{}) })
	h.Reshare()
	if r := h.Gate("c").Limiter().Rate(); r != 25 {
		t.Fatalf("rate before the reload %v, want 25 (a quarter of 100)", r)
	}
	h.Update([]*pipeline.Connector{limited(40)})
	if r := h.Gate("c").Limiter().Rate(); r != 10 {
		t.Errorf("rate after rate_limit 100 → 40: %v requests/s, want 10 (a quarter of 40)", r)
	}
}
