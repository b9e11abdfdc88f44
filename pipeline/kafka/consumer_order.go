package kafka

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Records held in a partition out of its queue: behind a busy key of a
// KeyOrdered route, ready to start before the queue's head, or waiting for
// the time a RetryAt gave. None of them is done, so the partition's
// commit point stays below the oldest of them.

// holding is a partition's held records. Guarded by the lane's lock.
type holding struct {
	keys  map[string]*keyState // KeyOrdered: keys seen, busy or idle
	nbusy int                  // keys with a record in flight, ready or waiting
	ready fifo                 // held records that may start now
	later []retryEntry         // records waiting for their RetryAt, in no order
	retry *time.Timer          // fires at wake, the earliest of later
	wake  time.Time            // zero when retry is not armed
	nheld int                  // records in keys' fifos, ready and later
	full  bool                 // nheld reached MaxHeld and is not yet down to half
}

// keyState is one key of a KeyOrdered partition: busy while one of its
// records is in flight, ready or waiting for a retry; held are the key's
// later records, in offset order.
type keyState struct {
	busy bool
	held fifo
}

type retryEntry struct {
	r  *kgo.Record
	at time.Time
}

// fifo is a queue of records that reuses its array.
type fifo struct {
	s []*kgo.Record
	h int
}

func (q *fifo) len() int { return len(q.s) - q.h }

func (q *fifo) peek() *kgo.Record { return q.s[q.h] }

func (q *fifo) push(r *kgo.Record) {
	if q.h > 0 && len(q.s) == cap(q.s) && q.h >= len(q.s)/2 {
		n := copy(q.s, q.s[q.h:])
		clear(q.s[n:])
		q.s, q.h = q.s[:n], 0
	}
	q.s = append(q.s, r)
}

func (q *fifo) pop() *kgo.Record {
	r := q.s[q.h]
	q.s[q.h] = nil
	if q.h++; q.h == len(q.s) {
		q.s, q.h = q.s[:0], 0
	}
	return r
}

// next returns p's next record to start, nil when none may start now,
// and whether it is the head of p's queue (else it is held and ready).
// Called with l.mu held.
func (l *lane) next(p *partition) (*kgo.Record, bool) {
	if p.gone.Load() {
		return nil, false
	}
	if p.ready.len() > 0 {
		return p.ready.peek(), false
	}
	return l.queued(p), true
}

// queued returns the head of p's queue, nil when it is empty. In a
// KeyOrdered route it first moves each head whose key is busy behind that
// key. Called with l.mu held.
func (l *lane) queued(p *partition) *kgo.Record {
	for len(p.queue) > 0 && !p.gone.Load() {
		r := p.queue[0]
		if !l.route.KeyOrdered {
			return r
		}
		ks := p.keys[string(r.Key)]
		if ks == nil || !ks.busy {
			return r
		}
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if p.counted {
			l.c.gate.add(-1)
		}
		ks.held.push(r)
		p.nheld++
		l.flow(p)
	}
	return nil
}

// expireReady starts those of p's ready records that expired, wherever
// they are among them, and returns the earliest expiry of the others; ok
// is false when the route has no slot left. Called with l.mu held, when
// the gate refused.
func (l *lane) expireReady(p *partition, now time.Time) (next time.Time, ok bool) {
	for n := p.ready.len(); n > 0 && !p.gone.Load(); n-- {
		r := p.ready.peek()
		if exp := l.route.ExpiresAt(r); exp.After(now) {
			p.ready.push(p.ready.pop()) // to the back: other keys' order does not matter
			next = earliest(next, exp)
			continue
		}
		if l.inflight >= l.route.MaxInFlight || !l.c.slots.take(l) {
			return next, false
		}
		l.start(p, r, false)
	}
	return next, true
}

// earliest returns the earlier of a and b, a zero time counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// take removes r, which next returned, from p, and in a KeyOrdered route
// marks its key busy. Called with l.mu held.
func (l *lane) take(p *partition, r *kgo.Record, queued bool) {
	if !queued {
		p.ready.pop()
		p.nheld--
		return
	}
	p.queue[0] = nil
	p.queue = p.queue[1:]
	if p.counted {
		l.c.gate.add(-1)
	}
	if l.route.KeyOrdered {
		p.busyKey(r.Key)
	}
}

// busyKey marks key busy. Idle keys stay in the map, so that a device
// seen again costs no allocation, until they outnumber the busy ones
// by 1024; then they are dropped.
func (p *partition) busyKey(key []byte) {
	ks := p.keys[string(key)]
	if ks == nil {
		if len(p.keys) >= 2*p.nbusy+1024 {
			for k, s := range p.keys {
				if !s.busy {
					delete(p.keys, k)
				}
			}
		}
		if p.keys == nil {
			p.keys = make(map[string]*keyState)
		}
		ks = &keyState{}
		p.keys[string(key)] = ks
	}
	ks.busy = true
	p.nbusy++
}

// keyDone passes key to its next held record, which becomes ready, or
// marks it idle; it reports whether a record became ready.
func (p *partition) keyDone(key []byte) bool {
	ks := p.keys[string(key)]
	if ks == nil || !ks.busy {
		return false
	}
	if ks.held.len() > 0 {
		p.ready.push(ks.held.pop())
		return true
	}
	ks.busy = false
	p.nbusy--
	return false
}

// settled updates p for the outcome of r's handler: a RetryAt keeps r
// waiting in p; a done or moved (ErrMoved) record of a KeyOrdered route
// passes its key on: its delivery attempts are over, and the move's
// transaction does not hold the device back. A handler that gave up (its
// context ended) leaves its key busy: the partition is being released.
// Called with l.mu held.
func (l *lane) settled(p *partition, r *kgo.Record, err error) {
	if p.gone.Load() {
		return
	}
	if err != nil && !errors.Is(err, ErrMoved) {
		if at, ok := retryTime(err); ok {
			l.retryLater(p, r, at)
		}
		return
	}
	if l.route.KeyOrdered && p.keyDone(r.Key) {
		l.enlist(p)
	}
}

// flow pauses p's fetching when its queue or its held records reached
// their bound, and resumes it once the queue is down to half and the held
// records, if they reached their bound, are down to half too (held
// records under their bound do not keep a pause the queue caused).
// Called with l.mu held.
func (l *lane) flow(p *partition) {
	if p.nheld >= l.route.MaxHeld {
		p.full = true
	} else if p.nheld <= l.route.MaxHeld/2 {
		p.full = false
	}
	switch {
	case !p.paused && (len(p.queue) >= l.route.MaxQueued || p.full):
		p.paused = true // the queue is bounded by MaxQueued from now on
		l.c.setPaused(p.tp, true)
		l.recount(p)
	case p.paused && len(p.queue) <= l.route.MaxQueued/2 && !p.full:
		p.paused = false
		l.c.setPaused(p.tp, false)
		l.recount(p)
	}
}

// dropHeld forgets p's held records (their offsets stay uncommitted).
// Called with l.mu held, when p stops.
func (p *partition) dropHeld() {
	if p.retry != nil {
		p.retry.Stop()
	}
	p.holding = holding{}
}
