package health

import (
	"cmp"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// windowBuckets is how many buckets the breaker's sliding window has.
const windowBuckets = 10

// bucket counts the attempts of one tenth of the window.
type bucket struct {
	epoch    int64 // now / bucket width when the bucket was last reset
	ok, fail int
}

// breaker is one connector's circuit breaker in one process. It is not
// safe for concurrent use: Gate holds it under its lock.
//
// Closed, it counts attempts in a sliding window and opens when at least
// MinRequests were made and FailureRatio of them failed. Open, it admits
// nothing until reopensAt, then exactly one probe. A failed probe reopens
// it with twice the cooldown (at most MaxBreakerCooldown); a 2xx probe
// closes it and starts the slow-start ramp: the in-flight limit starts at
// 1 and grows by one per 2xx, doubling per round trip, up to maxInFlight.
type breaker struct {
	cfg         pipeline.CircuitBreaker
	width       time.Duration
	buckets     [windowBuckets]bucket
	open        bool
	probing     bool // the one probe is in flight
	reopensAt   time.Time
	cooldown    time.Duration // the next wait after a failed probe
	limit       int           // in-flight limit while ramping
	maxInFlight int
}

// newBreaker returns a closed breaker; zero fields of cfg (a connector
// not made by the config loader) take the defaults.
func newBreaker(cfg pipeline.CircuitBreaker, maxInFlight int) *breaker {
	def := pipeline.DefaultCircuitBreaker()
	cfg.FailureRatio = cmp.Or(cfg.FailureRatio, def.FailureRatio)
	cfg.MinRequests = cmp.Or(cfg.MinRequests, def.MinRequests)
	cfg.Window = cmp.Or(cfg.Window, def.Window)
	cfg.Cooldown = cmp.Or(cfg.Cooldown, def.Cooldown)
	maxInFlight = cmp.Or(maxInFlight, pipeline.DefaultMaxInFlight)
	return &breaker{
		cfg: cfg, width: max(cfg.Window/windowBuckets, time.Millisecond),
		cooldown: cfg.Cooldown, limit: maxInFlight, maxInFlight: maxInFlight,
	}
}

// admit says whether a request may start now, and whether it is the probe.
// inFlight is the connector's requests in flight in this process.
func (b *breaker) admit(now time.Time, inFlight int) (ok, probe bool) {
	switch {
	case b.cfg.Disabled:
		return true, false
	case !b.open:
		return inFlight < b.limit, false
	case b.probing || now.Before(b.reopensAt):
		return false, false
	}
	b.probing = true
	return true, true
}

// record counts the outcome of a request admitted earlier; probe says
// whether it was the probe. Throttled and Gone outcomes do not count.
func (b *breaker) record(now time.Time, k Kind, probe bool) {
	if b.cfg.Disabled || (k != Success && k != Failure) {
		if probe {
			b.probing = false // the next probe waits for reopensAt
		}
		return
	}
	if probe {
		b.probing = false
		if k == Success {
			b.close()
		} else {
			b.cooldown = min(2*b.cooldown, pipeline.MaxBreakerCooldown)
			b.reopensAt = now.Add(b.cooldown)
		}
		return
	}
	if b.open {
		return // a straggler sent before the breaker opened
	}
	bk := b.bucket(now)
	if k == Success {
		bk.ok++
		b.limit = min(b.limit+1, b.maxInFlight)
		return
	}
	bk.fail++
	if ok, fail := b.counts(now); ok+fail >= b.cfg.MinRequests && float64(fail) >= b.cfg.FailureRatio*float64(ok+fail) {
		b.trip(now)
	}
}

// trip opens the breaker: the first probe after the configured cooldown.
func (b *breaker) trip(now time.Time) {
	b.open, b.probing = true, false
	b.cooldown = b.cfg.Cooldown
	b.reopensAt = now.Add(b.cooldown)
	b.buckets = [windowBuckets]bucket{}
}

// close closes the breaker and starts the slow-start ramp.
func (b *breaker) close() {
	b.open = false
	b.cooldown = b.cfg.Cooldown
	b.reopensAt = time.Time{}
	b.limit = 1
	b.buckets = [windowBuckets]bucket{}
}

// bucket returns the bucket for now, reset if it held an older slice.
func (b *breaker) bucket(now time.Time) *bucket {
	e := now.UnixNano() / int64(b.width)
	bk := &b.buckets[e%windowBuckets]
	if bk.epoch != e {
		*bk = bucket{epoch: e}
	}
	return bk
}

// counts sums the attempts within the window ending at now.
func (b *breaker) counts(now time.Time) (ok, fail int) {
	e := now.UnixNano() / int64(b.width)
	for i := range b.buckets {
		if bk := &b.buckets[i]; bk.epoch > e-windowBuckets {
			ok += bk.ok
			fail += bk.fail
		}
	}
	return ok, fail
}
