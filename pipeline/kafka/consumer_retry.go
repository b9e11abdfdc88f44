package kafka

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RetryAt returns the error by which a Handler says that r's work failed
// and must run again, not before at. The record is not done: its offset
// stays uncommitted, and it waits in its partition, holding no in-flight
// slot, until at, when it starts again as if new (the route's gate is
// asked again). In a KeyOrdered route its key stays busy meanwhile, so the
// key's later records keep waiting behind it. Any other error still means
// that the handler gave up because its context ended.
func RetryAt(at time.Time) error { return &retryError{at: at} }

type retryError struct{ at time.Time }

func (e *retryError) Error() string {
	return "retry at " + e.at.Format(time.RFC3339Nano)
}

// retryTime returns the time of a RetryAt error.
func retryTime(err error) (time.Time, bool) {
	var re *retryError
	if errors.As(err, &re) {
		return re.at, true
	}
	return time.Time{}, false
}

// retryLater holds r in p until at. Called with l.mu held.
func (l *lane) retryLater(p *partition, r *kgo.Record, at time.Time) {
	p.later = append(p.later, retryEntry{r, at})
	p.nheld++
	l.flow(p)
	if p.wake.IsZero() || at.Before(p.wake) {
		p.armRetry(at)
	}
}

// armRetry sets p's retry timer to at. Called with the lane's lock held.
func (p *partition) armRetry(at time.Time) {
	p.wake = at
	if p.retry == nil {
		p.retry = time.AfterFunc(time.Until(at), p.retryDue)
	} else {
		p.retry.Reset(time.Until(at))
	}
}

// retryDue makes the records whose RetryAt came ready, and starts what
// may start.
func (p *partition) retryDue() {
	l := p.lane
	l.mu.Lock()
	if !p.gone.Load() {
		now, next := time.Now(), time.Time{}
		kept := p.later[:0]
		for _, e := range p.later {
			if !e.at.After(now) {
				p.ready.push(e.r)
				continue
			}
			kept = append(kept, e)
			if next.IsZero() || e.at.Before(next) {
				next = e.at
			}
		}
		clear(p.later[len(kept):])
		p.later, p.wake = kept, time.Time{}
		if !next.IsZero() {
			p.armRetry(next)
		}
		if p.ready.len() > 0 {
			l.enlist(p)
		}
		l.pump()
	}
	l.mu.Unlock()
	l.c.slots.wake()
}
