package kafka

import (
	"sync"
	"sync/atomic"
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
	waiting    bool          // in slots.waiting; guarded by slots.mu
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
				continue
			}
		}
		if !l.c.slots.take(l) {
			break
		}
		if ok, retryAt := l.admit(r, now); !ok {
			l.c.slots.give()
			l.refused(now, retryAt)
			break
		}
		l.start(p, r, queued)
		l.popHead()
		if len(p.queue) > 0 || p.ready.len() > 0 {
			l.enlist(p) // to the back: the route's partitions take turns
		}
	}
	if want := l.inflight > 0 || l.head != nil; want != l.active {
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

// slotPool is the consumer-wide in-flight bound. Taking and giving a slot
// is an atomic add; routes that found no slot wait in a FIFO, woken one per
// slot given back.
type slotPool struct {
	max    int64
	used   atomic.Int64
	active atomic.Int64 // routes with handlers running or records to start
	nwait  atomic.Int64

	mu      sync.Mutex
	waiting []*lane
}

// take takes a slot for l, called with l.mu held. When the pool is
// contended (routes wait), a route that holds its share, max/active,
// gets none. When it gets none, l joins the waiting routes, and is woken
// when a slot is given back.
func (s *slotPool) take(l *lane) bool {
	if s.nwait.Load() > 0 && int64(l.inflight) >= max(s.max/max(s.active.Load(), 1), 1) {
		s.enqueue(l)
		return false
	}
	if s.tryTake() {
		return true
	}
	s.enqueue(l)
	return s.tryTake() // a slot given back before l was listed
}

func (s *slotPool) enqueue(l *lane) {
	s.mu.Lock()
	if !l.waiting {
		l.waiting = true
		s.waiting = append(s.waiting, l)
		s.nwait.Add(1)
	}
	s.mu.Unlock()
}

func (s *slotPool) tryTake() bool {
	for {
		u := s.used.Load()
		if u >= s.max {
			return false
		}
		if s.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// give returns a slot. Call wake after releasing any lane's lock.
func (s *slotPool) give() { s.used.Add(-1) }

// wake lets waiting routes try again, longest-waiting first, while slots
// are free: each of the routes waiting when it began gets one turn.
// Called with no lane's lock held.
func (s *slotPool) wake() {
	for turns := s.nwait.Load(); turns > 0 && s.nwait.Load() > 0 && s.used.Load() < s.max; turns-- {
		s.mu.Lock()
		if len(s.waiting) == 0 {
			s.mu.Unlock()
			return
		}
		l := s.waiting[0]
		s.waiting[0] = nil
		s.waiting = s.waiting[1:]
		l.waiting = false
		s.nwait.Add(-1)
		s.mu.Unlock()
		l.mu.Lock()
		l.pump()
		l.mu.Unlock()
	}
}
