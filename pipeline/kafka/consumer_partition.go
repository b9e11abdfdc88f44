package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition is one assigned partition: a worker goroutine takes its records
// in offset order, waits until each is due and for an in-flight slot, and
// starts a goroutine per record to handle it. The tracker records which
// offsets are done.
type partition struct {
	c       *Consumer
	tp      topicPartition
	tracker *OffsetTracker

	ctx    context.Context // handlers' context; cancelled on stop
	cancel context.CancelFunc

	mu     sync.Mutex
	queue  []*kgo.Record // pushed, not yet started
	paused bool          // fetching paused because the queue is full
	signal chan struct{} // cap 1: the queue grew
	stopCh chan struct{} // closed when stop begins

	inflight sync.WaitGroup
	exited   chan struct{} // closed when run returns
}

func newPartition(c *Consumer, tp topicPartition) *partition {
	ctx, cancel := context.WithCancel(context.Background())
	return &partition{
		c: c, tp: tp, tracker: NewOffsetTracker(),
		ctx: ctx, cancel: cancel,
		signal: make(chan struct{}, 1),
		stopCh: make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// push queues records (in offset order) for the worker, and pauses the
// partition's fetching when the queue reaches MaxQueued. Transaction
// markers (control records) are done without a handler.
func (p *partition) push(recs []*kgo.Record) {
	p.mu.Lock()
	for _, r := range recs {
		p.tracker.Add(r.Offset, r.LeaderEpoch)
	}
	for _, r := range recs {
		// A transaction marker stands for no work: done at once, so
		// the commit point passes it and the group shows no lag.
		if r.Attrs.IsControl() {
			p.tracker.Done(r.Offset)
		} else {
			p.queue = append(p.queue, r)
		}
	}
	pause := !p.paused && len(p.queue) >= p.c.cfg.MaxQueued
	p.paused = p.paused || pause
	p.mu.Unlock()
	if pause {
		p.c.setPaused(p.tp, true)
	}
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// run is the partition's worker; it returns when stop begins.
func (p *partition) run() {
	defer close(p.exited)
	for {
		r, ok := p.next()
		if !ok || !p.waitDue(r) || !p.acquire() {
			return
		}
		p.pop()
		p.inflight.Add(1)
		p.c.exec(job{p, r})
	}
}

// next waits for the head of the queue, or for stop. The head stays
// queued until pop, so that stop finds it.
func (p *partition) next() (*kgo.Record, bool) {
	for {
		p.mu.Lock()
		if len(p.queue) > 0 {
			r := p.queue[0]
			p.mu.Unlock()
			return r, true
		}
		p.mu.Unlock()
		select {
		case <-p.signal:
		case <-p.stopCh:
			return nil, false
		}
	}
}

// pop removes the head and resumes fetching once the queue is down to
// half of MaxQueued.
func (p *partition) pop() {
	p.mu.Lock()
	p.queue[0] = nil
	p.queue = p.queue[1:]
	resume := p.paused && len(p.queue) <= p.c.cfg.MaxQueued/2
	p.paused = p.paused && !resume
	p.mu.Unlock()
	if resume {
		p.c.setPaused(p.tp, false)
	}
}

// waitDue waits until r is due; false when stop began first.
func (p *partition) waitDue(r *kgo.Record) bool {
	if p.c.cfg.DueAt == nil {
		return true
	}
	d := time.Until(p.c.cfg.DueAt(r))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stopCh:
		return false
	}
}

// acquire takes an in-flight slot; false when stop began first.
func (p *partition) acquire() bool {
	select {
	case p.c.sem <- struct{}{}:
		return true
	case <-p.stopCh:
		return false
	}
}

func (p *partition) handle(r *kgo.Record) {
	defer p.inflight.Done()
	if err := p.c.cfg.Handle(p.ctx, r); err == nil {
		p.tracker.Done(r.Offset)
	}
	<-p.c.sem
}

// stop ends the worker, drops records not started (their offsets stay
// uncommitted), lets in-flight handlers run until deadline, then cancels
// them and waits for them to return. A paused partition is resumed, so
// that a later assignment of it fetches again.
func (p *partition) stop(deadline time.Time) {
	close(p.stopCh)
	<-p.exited
	p.mu.Lock()
	p.queue = nil
	paused := p.paused
	p.paused = false
	p.mu.Unlock()
	if paused {
		p.c.setPaused(p.tp, false)
	}
	done := make(chan struct{})
	go func() { p.inflight.Wait(); close(done) }()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		p.cancel()
		<-done
	}
	p.cancel()
}
