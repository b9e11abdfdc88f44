package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// windowMinutes is the span of DT's connector metrics: the last 3 hours.
const windowMinutes = 180

// latencyBuckets are the upper bounds, in milliseconds, of the window's
// latency histogram: powers of two from 1 ms to about 65 s, then overflow.
const latencyBuckets = 18

// Window counts successes, errors and request latencies over the last
// three hours in one-minute slots, for DT-style connector metrics. It uses
// atomics only, so that deliveries never contend on a lock; a slot being
// recycled may lose a few counts from a concurrent writer, which the
// metric tolerates.
type Window struct {
	slots [windowMinutes]windowSlot
}

type windowSlot struct {
	minute  atomic.Int64 // Unix minute the slot holds
	success atomic.Int64
	errors  atomic.Int64
	latency [latencyBuckets + 1]atomic.Int64
}

// WindowStats is a Window summed over the last three hours.
type WindowStats struct {
	SuccessCount int64
	ErrorCount   int64
	// Latency99p is the 99th percentile request latency (an upper bound
	// from the histogram), zero when nothing was sent.
	Latency99p time.Duration
}

func (w *Window) slot(now time.Time) *windowSlot {
	m := now.Unix() / 60
	s := &w.slots[m%windowMinutes]
	if old := s.minute.Load(); old != m && s.minute.CompareAndSwap(old, m) {
		s.success.Store(0)
		s.errors.Store(0)
		for i := range s.latency {
			s.latency[i].Store(0)
		}
	}
	return s
}

// Observe records one request's outcome and latency at now.
func (w *Window) Observe(now time.Time, ok bool, latency time.Duration) {
	s := w.slot(now)
	if ok {
		s.success.Add(1)
	} else {
		s.errors.Add(1)
	}
	s.latency[latencyBucket(latency)].Add(1)
}

func latencyBucket(d time.Duration) int {
	ms := d.Milliseconds()
	if ms < 1 {
		return 0
	}
	b := int(math.Ceil(math.Log2(float64(ms))))
	return min(b, latencyBuckets)
}

// Stats sums the slots of the three hours before now.
func (w *Window) Stats(now time.Time) WindowStats {
	var st WindowStats
	var hist [latencyBuckets + 1]int64
	cur := now.Unix() / 60
	for i := range w.slots {
		s := &w.slots[i]
		if m := s.minute.Load(); m > cur || cur-m >= windowMinutes {
			continue
		}
		st.SuccessCount += s.success.Load()
		st.ErrorCount += s.errors.Load()
		for b := range hist {
			hist[b] += s.latency[b].Load()
		}
	}
	st.Latency99p = percentile(hist[:], 0.99)
	return st
}

func percentile(hist []int64, q float64) time.Duration {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for b, n := range hist {
		seen += n
		if seen >= rank {
			return time.Duration(1<<b) * time.Millisecond
		}
	}
	return time.Duration(1<<(len(hist)-1)) * time.Millisecond
}
