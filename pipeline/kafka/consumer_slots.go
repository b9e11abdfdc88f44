package kafka

import (
	"sync"
	"sync/atomic"
)

// slotPool is the consumer-wide in-flight bound. Taking and giving a slot
// is an atomic add; routes that found no slot wait in a FIFO, woken one per
// slot given back.
//
// While routes wait, a route may hold only its share, max / active
// routes. A route that holds reserve = max / routes slots (its share
// when all routes are busy) may take more only while more than reserve
// stay free: a slow endpoint cannot fill the pool with requests that take
// seconds to give their slots back, and an idle route that gets work
// finds reserve slots at once. A route stopped by that rule is woken, as
// the waiting ones are, once more than reserve slots are free, so a route
// whose own handlers do not finish still gets them.
type slotPool struct {
	max     int64
	reserve atomic.Int64 // free slots a route above its share may not take
	used    atomic.Int64
	active  atomic.Int64 // routes with handlers running or records to start
	nwait   atomic.Int64
	ncapped atomic.Int64

	mu      sync.Mutex
	waiting []*lane
	capped  []*lane // stopped by the reserve rule; guarded by mu
}

// setReserve sets reserve for a consumer of routes routes: max/routes,
// none for a single route.
func (s *slotPool) setReserve(routes int) {
	if routes > 1 {
		s.reserve.Store(s.max / int64(routes))
	} else {
		s.reserve.Store(0)
	}
}

// take takes a slot for l, called with l.mu held. When the pool is
// contended (routes wait), a route that holds its share, max/active,
// gets none and joins the waiting routes. A route that holds reserve
// slots or more gets none either while at most reserve are free; its own
// handlers' finish pump it again. A route that finds no slot joins the
// waiting routes, and is woken when a slot is given back.
func (s *slotPool) take(l *lane) bool {
	n := int64(l.inflight)
	if s.nwait.Load() > 0 && n >= max(s.max/max(s.active.Load(), 1), 1) {
		s.enqueue(l)
		return false
	}
	if res := s.reserve.Load(); res > 0 && n >= res && s.max-s.used.Load() <= res {
		s.cap(l)
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

// cap lists l among the routes stopped by the reserve rule.
func (s *slotPool) cap(l *lane) {
	s.mu.Lock()
	if !l.capped {
		l.capped = true
		s.capped = append(s.capped, l)
		s.ncapped.Add(1)
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
	s.uncap()
}

// uncap pumps the routes stopped by the reserve rule, once each, when
// more than reserve slots are free. Called with no lane's lock held.
func (s *slotPool) uncap() {
	if s.ncapped.Load() == 0 || s.max-s.used.Load() <= s.reserve.Load() {
		return
	}
	s.mu.Lock()
	ls := s.capped
	s.capped = nil
	s.ncapped.Store(0)
	for _, l := range ls {
		l.capped = false
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.mu.Lock()
		l.pump()
		l.mu.Unlock()
	}
}
