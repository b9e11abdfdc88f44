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
