package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// rampMeter follows the requests a receiver is serving at once: the peak,
// and when the count first reached a target (such as 90 % of
// max_in_flight), so that a slow-endpoint run shows how long the pipeline
// took to fill its in-flight bound. It is safe for concurrent use.
type rampMeter struct {
	target  atomic.Int64 // 0: no target
	now     atomic.Int64 // requests being served
	peak    atomic.Int64
	first   atomic.Int64 // ns since t0 of the first request, +1; 0: none yet
	reached atomic.Int64 // ns since t0 when now first reached target, +1; 0: not yet
}

// enter notes a request arriving at at (ns since the run's t0) and returns
// the function that notes its end.
func (m *rampMeter) enter(at int64) func() {
	m.first.CompareAndSwap(0, at+1)
	n := m.now.Add(1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if t := m.target.Load(); t > 0 && n >= t {
		m.reached.CompareAndSwap(0, at+1)
	}
	return func() { m.now.Add(-1) }
}

// rampOf summarises m: the peak concurrency and the seconds from the first
// request until the target was reached (0 when it never was).
func rampOf(m *rampMeter) (peak int64, secs float64) {
	peak = m.peak.Load()
	if r, f := m.reached.Load(), m.first.Load(); r > 0 && f > 0 {
		secs = float64(r-f) / 1e9
	}
	return peak, secs
}

// sample records the requests in flight every interval until ctx ends and
// returns their mean over the samples from the first non-zero one to the
// last non-zero one: the mean concurrency while the endpoint was busy.
func (m *rampMeter) sample(ctx context.Context, interval time.Duration) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		var samples []int64
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				samples = append(samples, m.now.Load())
				continue
			case <-ctx.Done():
			}
			out <- busyMean(samples)
			return
		}
	}()
	return out
}

// busyMean is the mean of samples between the first and the last non-zero
// one, 0 when all are zero.
func busyMean(samples []int64) float64 {
	first, last := -1, -1
	for i, v := range samples {
		if v > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return 0
	}
	var sum int64
	for _, v := range samples[first : last+1] {
		sum += v
	}
	return float64(sum) / float64(last-first+1)
}
