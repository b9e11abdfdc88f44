package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RouteGate decides when a route's records may start: a connector's
// circuit breaker, throttling, disabled state and rate limit. One gate may
// serve routes of several consumers (a connector's deliver and retry
// routes). Its methods must be safe for concurrent use.
type RouteGate interface {
	// Admit reports whether r may start at now, inFlight being the
	// route's handlers running. When it may not, retryAt (zero: never by
	// itself) says when to ask again. An admitted record's handler must
	// give it back to the gate.
	Admit(r *kgo.Record, now time.Time, inFlight int) (ok bool, retryAt time.Time)
	// OnWake registers fn, which the gate calls, holding no lock, when it
	// may admit again what it refused.
	OnWake(fn func())
}

// Stats calls fn once per route that has partitions assigned here, with
// its name, the number of those partitions, and the earliest ExpiresAt
// among the first records not done of each (zero when nothing is
// pending). It costs one pass over the assigned partitions: call it from
// a per-process timer, not per record.
func (c *Consumer) Stats(fn func(route string, partitions int, oldest time.Time)) {
	type stat struct {
		n      int
		oldest time.Time
	}
	stats := make(map[*lane]*stat, len(c.cfg.Routes))
	c.mu.Lock()
	for _, p := range c.parts {
		st := stats[p.lane]
		if st == nil {
			st = &stat{}
			stats[p.lane] = st
		}
		st.n++
		if ms := p.tracker.Oldest(); ms != 0 {
			if t := time.UnixMilli(ms); st.oldest.IsZero() || t.Before(st.oldest) {
				st.oldest = t
			}
		}
	}
	c.mu.Unlock()
	for l, st := range stats {
		fn(l.name, st.n, st.oldest)
	}
}

// stamp is what the tracker keeps of r: its expiry in unix milliseconds
// when the route says, else 0.
func (l *lane) stamp(r *kgo.Record) int64 {
	if l.route.ExpiresAt == nil {
		return 0
	}
	return l.route.ExpiresAt(r).UnixMilli()
}

// admit asks the route's gate whether r may start now; without a gate it
// may. Called with l.mu held.
func (l *lane) admit(r *kgo.Record, now time.Time) (bool, time.Time) {
	if l.route.Gate == nil {
		return true, time.Time{}
	}
	return l.route.Gate.Admit(r, now, l.inflight)
}

// refused runs when the gate refused a head: the route starts nothing but
// the heads already expired (and, in a KeyOrdered route, any held record
// ready to start that expired), which start at once so that their handlers
// move them to the DLQ on time, and it sleeps until the gate's retryAt or
// the next head's expiry, whichever is first, unless the gate wakes it
// sooner. Called with l.mu held.
func (l *lane) refused(now, retryAt time.Time) {
	next := retryAt
	for p := l.head; p != nil; p = p.next {
		exp, ok := l.expireReady(p, now)
		if !ok {
			return // a handler's finish pumps again
		}
		next = earliest(next, exp)
		for r := l.queued(p); r != nil; r = l.queued(p) {
			exp := l.route.ExpiresAt(r)
			if exp.After(now) {
				next = earliest(next, exp)
				break
			}
			if l.inflight >= l.route.MaxInFlight || !l.c.slots.take(l) {
				return
			}
			l.start(p, r, true)
		}
	}
	if next.IsZero() {
		return
	}
	if l.wakeAt.IsZero() || next.Before(l.wakeAt) || !l.wakeAt.After(now) {
		l.wakeAt = next
		if l.timer == nil {
			l.timer = time.AfterFunc(next.Sub(now), l.kick)
		} else {
			l.timer.Reset(next.Sub(now))
		}
	}
}

// kick starts what the route may start now: the gate woke it, or its
// timer fired.
func (l *lane) kick() {
	l.mu.Lock()
	l.wakeAt = time.Time{}
	l.pump()
	l.mu.Unlock()
	l.c.slots.wake()
}
