package kafka

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// lane is one route's state: its in-flight count and the list of its
// partitions whose head may start. It is a small struct, not a goroutine:
// it does work only when records arrive, a handler finishes, or a head
// becomes due.
type lane struct {
	c     *Consumer
	name  string // the route's name, which a replace keeps
	route Route  // guarded by mu: ReplaceRoute swaps it

	mu         sync.Mutex // guards the fields below and its partitions' queues
	inflight   int
	head, tail *partition    // partitions with a startable head, round robin
	active     bool          // counted in slots.active
	blocked    bool          // the gate refused the last head it was asked about
	waiting    bool          // in slots.waiting; guarded by slots.mu
	capped     bool          // in slots.capped; guarded by slots.mu
	timer      *time.Timer   // wakes the route when its gate refused
	wakeAt     time.Time     // when timer fires; zero when not armed
	draining   bool          // a replace or removal waits for in-flight work: start nothing
	drained    chan struct{} // closed when draining and nothing is in flight
}

// enlist appends p to the startable list. Called with l.mu held.
func (l *lane) enlist(p *partition) {
	if p.listed {
		return
	}
	p.listed, p.next = true, nil
	if l.tail == nil {
		l.head = p
	} else {
		l.tail.next = p
	}
	l.tail = p
}

// popHead removes the list's head. Called with l.mu held.
func (l *lane) popHead() {
	p := l.head
	l.head = p.next
	if l.head == nil {
		l.tail = nil
	}
	p.next, p.listed = nil, false
}

// pump starts queued records, in offset order per partition (per key in
// a KeyOrdered route, held records first) and round robin over
// partitions, while the route is under MaxInFlight and the consumer has a
// slot for it. A head not yet due takes its partition off
// the list until a timer puts it back. Called with l.mu held; it never
// blocks.
func (l *lane) pump() {
	var now time.Time
	if l.route.Gate != nil {
		now = time.Now()
	}
	for l.head != nil && l.inflight < l.route.MaxInFlight && !l.draining {
		p := l.head
		r, queued := l.next(p)
		if r == nil {
			l.popHead()
			continue
		}
		if queued && l.route.DueAt != nil {
			if d := time.Until(l.route.DueAt(r)); d > 0 {
				l.popHead()
				if p.timer == nil {
					p.timer = time.AfterFunc(d, p.due)
				}
				l.recount(p)
				continue
			}
		}
		if !l.c.slots.take(l) {
			break
		}
		if ok, retryAt := l.admit(r, now); !ok {
			l.c.slots.give()
			l.block()
			l.refused(now, retryAt)
			break
		}
		l.unblock()
		l.start(p, r, queued)
		l.popHead()
		if len(p.queue) > 0 || p.ready.len() > 0 {
			l.enlist(p) // to the back: the route's partitions take turns
		}
	}
	// A route counts in the pool's shares while it runs handlers or has
	// records it could start now; a refused route's queue does not count.
	if want := l.inflight > 0 || (l.head != nil && !l.blocked); want != l.active {
		l.active = want
		if want {
			l.c.slots.active.Add(1)
		} else {
			l.c.slots.active.Add(-1)
		}
	}
}

// start starts r, which next returned for p, holding a slot for it.
// Called with l.mu held.
func (l *lane) start(p *partition, r *kgo.Record, queued bool) {
	l.take(p, r, queued)
	l.flow(p)
	l.inflight++
	p.inflight.Add(1)
	l.c.pool.exec(job{p, p.ctx, r, l.route.Handle})
}

// block marks the route refused by its gate: its startable partitions'
// queues leave the consumer's gate count (recount), and the route leaves
// the pool's shares, until the gate admits again. Called with l.mu held.
func (l *lane) block() {
	if l.blocked {
		return
	}
	l.blocked = true
	for p := l.head; p != nil; p = p.next {
		l.recount(p)
	}
}

// unblock undoes block once the gate admitted a record. Called with l.mu
// held.
func (l *lane) unblock() {
	if !l.blocked {
		return
	}
	l.blocked = false
	for p := l.head; p != nil; p = p.next {
		l.recount(p)
	}
}
