package kafka

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partition is one assigned partition: its queue of records read but not
// started, and the tracker of which offsets are done. Its queue and list
// fields are guarded by its lane's lock; no goroutine runs for it.
type partition struct {
	lane    *lane
	tp      topicPartition
	tracker *OffsetTracker

	ctx    context.Context // handlers' context; cancelled on stop
	cancel context.CancelFunc

	queue   []*kgo.Record // pushed, not yet started
	paused  bool          // fetching paused because the queue or the held records are full
	counted bool          // the queue is counted in the consumer's gate (see recount)
	listed  bool          // in the lane's startable list
	next    *partition    // in the lane's startable list
	timer   *time.Timer   // set while the head waits to be due
	holding

	gone     atomic.Bool // stop began; set under the lane's lock
	lost     atomic.Bool // lost, or released: its moves can no longer be committed here
	dirty    atomic.Bool // in the consumer's dirty list
	inflight sync.WaitGroup
}

func newPartition(l *lane, tp topicPartition) *partition {
	p := &partition{lane: l, tp: tp, tracker: NewOffsetTracker(), counted: true}
	p.ctx, p.cancel = context.WithCancel(context.WithValue(context.Background(), partKey{}, p))
	return p
}

// push queues records (in offset order), pauses the partition's fetching
// when the queue reaches MaxQueued, and starts what the route has room for.
//
// Transaction markers (control records) are done without a handler.
func (p *partition) push(recs []*kgo.Record) {
	l := p.lane
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.gone.Load() {
		return
	}
	for _, r := range recs {
		p.tracker.AddStamped(r.Offset, r.LeaderEpoch, l.stamp(r))
	}
	n := len(p.queue)
	for _, r := range recs {
		// A transaction marker stands for no work: done at once, so
		// the commit point passes it and the group shows no lag.
		if !r.Attrs.IsControl() {
			p.queue = append(p.queue, r)
		} else if p.tracker.Done(r.Offset) && !p.dirty.Swap(true) {
			l.c.dirty.add(p)
		}
	}
	if p.counted {
		l.c.gate.add(len(p.queue) - n)
	}
	l.flow(p)
	l.recount(p)
	if p.timer == nil {
		l.enlist(p)
	}
	l.pump()
}

// recount counts p's queue in the consumer's gate, or stops counting it,
// as its state now requires: the gate bounds only the records that may
// start soon, so it leaves out a paused partition (its queue is bounded by
// MaxQueued), one whose head waits to be due, and every partition of a
// route whose gate refuses. The records left out never hold up polling
// for the other routes. Called with l.mu held.
func (l *lane) recount(p *partition) {
	want := !p.paused && p.timer == nil && !l.blocked && !p.gone.Load()
	if want == p.counted {
		return
	}
	p.counted = want
	if want {
		l.c.gate.add(len(p.queue))
	} else {
		l.c.gate.add(-len(p.queue))
	}
}

// due runs when the head's due time came: the partition is startable
// again.
func (p *partition) due() {
	l := p.lane
	l.mu.Lock()
	p.timer = nil
	l.recount(p)
	if !p.gone.Load() && len(p.queue) > 0 {
		l.enlist(p)
	}
	l.pump()
	l.mu.Unlock()
}

// finish records the outcome of one handler: a nil error makes the offset
// done (and passes a KeyOrdered route's key on), a RetryAt holds the
// record until its time, and ErrMoved leaves the offset to the move's
// transaction (see Move). It gives the slot back and starts what may
// start now.
func (p *partition) finish(r *kgo.Record, err error) {
	l := p.lane
	// A moved record's offset is made done by its transaction.
	if err == nil && p.tracker.Done(r.Offset) && !p.dirty.Swap(true) {
		l.c.dirty.add(p)
	}
	l.mu.Lock()
	l.inflight--
	l.c.slots.give()
	l.settled(p, r, err)
	l.pump()
	l.signalDrained()
	l.mu.Unlock()
	p.inflight.Done()
	l.c.slots.wake()
}

// halt stops starting records: the queue and the held records are
// dropped (those offsets stay uncommitted) and a paused partition is
// resumed, so that a later assignment of it fetches again. In-flight
// handlers go on.
func (p *partition) halt() {
	l := p.lane
	l.mu.Lock()
	defer l.mu.Unlock()
	p.gone.Store(true)
	l.recount(p)
	p.queue = nil
	p.dropHeld()
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.paused {
		p.paused = false
		l.c.setPaused(p.tp, false)
	}
}

// settle halts ps, lets their in-flight handlers run until grace passes,
// then cancels them and waits for them to return.
func settle(ps []*partition, grace time.Duration) {
	for _, p := range ps {
		p.halt()
	}
	done := make(chan struct{})
	go func() {
		for _, p := range ps {
			p.inflight.Wait()
		}
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		for _, p := range ps {
			p.cancel()
		}
		<-done
	}
	for _, p := range ps {
		p.cancel()
	}
}
