package metrics

import (
	"testing"
	"time"
)

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
