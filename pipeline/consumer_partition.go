package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition is one assigned partition: a worker goroutine takes its records
// in offset order, waits until each is due, and starts a goroutine per
// record to handle it. The tracker records which offsets are done.
type partition struct {
	c       *Consumer
	tp      topicPartition
	tracker *OffsetTracker

	ctx    context.Context // handlers' context; cancelled on stop
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []*kgo.Record // pushed, not yet started
	stopped bool
	signal  chan struct{} // cap 1: queue grew or stop began

	inflight sync.WaitGroup
	exited   chan struct{} // closed when run returns
}

func newPartition(c *Consumer, tp topicPartition) *partition {
	ctx, cancel := context.WithCancel(context.Background())
	return &partition{
		c: c, tp: tp, tracker: NewOffsetTracker(),
		ctx: ctx, cancel: cancel,
		signal: make(chan struct{}, 1),
		exited: make(chan struct{}),
	}
}

// push queues records (in offset order) for the worker.
func (p *partition) push(recs []*kgo.Record) {
	p.mu.Lock()
	for _, r := range recs {
		p.tracker.Add(r.Offset, r.LeaderEpoch)
	}
	p.queue = append(p.queue, recs...)
	p.mu.Unlock()
	p.notify()
}

func (p *partition) notify() {
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
		if !ok {
			return
		}
		if !p.waitDue(r) {
			p.requeue(r)
			return
		}
		p.inflight.Add(1)
		go p.handle(r)
	}
}

// next waits for the head of the queue, or for stop.
func (p *partition) next() (*kgo.Record, bool) {
	for {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return nil, false
		}
		if len(p.queue) > 0 {
			r := p.queue[0]
			p.queue[0] = nil
			p.queue = p.queue[1:]
			p.mu.Unlock()
			return r, true
		}
		p.mu.Unlock()
		<-p.signal
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
	for {
		select {
		case <-t.C:
			return true
		case <-p.signal:
			p.mu.Lock()
			stopped := p.stopped
			p.mu.Unlock()
			if stopped {
				return false
			}
		}
	}
}

// requeue puts back a record taken but not started, so that stop counts it
// as dropped.
func (p *partition) requeue(r *kgo.Record) {
	p.mu.Lock()
	p.queue = append([]*kgo.Record{r}, p.queue...)
	p.mu.Unlock()
}

func (p *partition) handle(r *kgo.Record) {
	defer p.inflight.Done()
	if err := p.c.cfg.Handle(p.ctx, r); err == nil {
		p.tracker.Done(r.Offset)
	}
	p.c.finished(1)
}

// stop ends the worker, drops records not started, lets in-flight handlers
// run until deadline, then cancels them and waits for them to return.
func (p *partition) stop(deadline time.Time) {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.notify()
	<-p.exited
	p.mu.Lock()
	dropped := len(p.queue)
	p.queue = nil
	p.mu.Unlock()
	p.c.finished(int64(dropped))

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
