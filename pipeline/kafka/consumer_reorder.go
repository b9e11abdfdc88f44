package kafka

import (
	"cmp"
	"slices"
	"time"
)

// A reload may turn a route's KeyOrdered on or off while records are held
// in its partitions: waiting for a RetryAt (which holds no in-flight slot,
// so a drain does not wait for them), ready, or behind a busy key. The
// partitions' holding is then re-keyed for the new route, so that no held
// record is stranded and no key runs two records at once.

// reorder re-keys the holding of ps, the partitions of l, for a route
// whose KeyOrdered is ordered, and lists those with a record ready. It
// must be called while l drains (nothing of l in flight, nothing starts),
// before resume installs the new route.
func (l *lane) reorder(ps []*partition, ordered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range ps {
		if p.gone.Load() {
			continue
		}
		if ordered {
			p.keyHeld()
		} else {
			p.unkeyHeld()
		}
		if p.ready.len() > 0 {
			l.enlist(p)
		}
	}
}

// unkeyHeld makes every record held behind a key ready and forgets the
// keys: in a route that is not KeyOrdered, nothing waits for a key. A
// record waiting for its RetryAt keeps waiting.
func (p *partition) unkeyHeld() {
	for _, ks := range p.keys {
		for ks.held.len() > 0 {
			p.ready.push(ks.held.pop())
		}
	}
	p.keys, p.nbusy = nil, 0
}

// keyHeld makes p's ready and retry-waiting records, which a route that
// was not KeyOrdered may hold several of per key, follow a KeyOrdered
// route: per key, the one of lowest offset keeps its place (ready, or
// waiting for its RetryAt) and its key busy, and the others are held
// behind it in offset order. Records in the queue have higher offsets
// than all of these (they were not started yet), so they follow.
func (p *partition) keyHeld() {
	all := make([]retryEntry, 0, p.ready.len()+len(p.later))
	for p.ready.len() > 0 {
		all = append(all, retryEntry{r: p.ready.pop()}) // zero at: ready
	}
	all = append(all, p.later...)
	clear(p.later)
	p.later = p.later[:0]
	slices.SortFunc(all, func(a, b retryEntry) int { return cmp.Compare(a.r.Offset, b.r.Offset) })
	for _, e := range all {
		if ks := p.keys[string(e.r.Key)]; ks != nil && ks.busy {
			ks.held.push(e.r)
			continue
		}
		p.busyKey(e.r.Key)
		if e.at.IsZero() {
			p.ready.push(e.r)
		} else {
			p.later = append(p.later, e)
		}
	}
	if len(p.later) == 0 && p.retry != nil {
		p.retry.Stop()
		p.wake = time.Time{}
	}
}
