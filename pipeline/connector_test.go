package pipeline

import (
	"testing"
	"time"
)

// A failure moves an event one tier up; the last tier repeats.
func TestRetryTier(t *testing.T) {
	p := RetryPolicy{Backoff: []time.Duration{time.Second, time.Minute, time.Hour}}
	for _, c := range []struct{ from, want int }{{-1, 0}, {0, 1}, {1, 2}, {2, 2}} {
		if got := p.Tier(c.from); got != c.want {
			t.Errorf("Tier(%d) = %d, want %d", c.from, got, c.want)
		}
	}
}

// The events filter admits listed types only; empty admits all; a disabled
// connector admits none.
func TestConnectorWants(t *testing.T) {
	c := &Connector{Events: []string{"temperature"}}
	if !c.Wants("temperature") || c.Wants("touch") {
		t.Error("filter [temperature] misjudged")
	}
	all := &Connector{}
	if !all.Wants("touch") {
		t.Error("empty filter rejects touch")
	}
	off := &Connector{Disabled: true}
	if off.Wants("touch") {
		t.Error("disabled connector wants touch")
	}
}

// The window sums the last three hours and forgets older minutes; p99 is
// the bucket bound that covers 99% of requests.
func TestWindowStats(t *testing.T) {
	var w Window
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	w.Observe(now.Add(-4*time.Hour), true, time.Millisecond) // too old
	for i := range 99 {
		w.Observe(now.Add(-time.Duration(i)*time.Minute), true, 3*time.Millisecond)
	}
	w.Observe(now, false, 900*time.Millisecond)
	st := w.Stats(now)
	if st.SuccessCount != 99 || st.ErrorCount != 1 {
		t.Fatalf("counts %+v, want 99 successes and 1 error", st)
	}
	if st.Latency99p != 4*time.Millisecond {
		t.Fatalf("p99 %v, want 4ms", st.Latency99p)
	}
	if st := w.Stats(now.Add(5 * time.Hour)); st.SuccessCount+st.ErrorCount != 0 {
		t.Fatalf("stats five hours later %+v, want empty", st)
	}
}
