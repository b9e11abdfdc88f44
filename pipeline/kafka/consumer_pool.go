package kafka

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// workerIdle is how long a worker waits for work before it exits.
const workerIdle = 5 * time.Second

// job is one record to handle.
type job struct {
	p   *partition
	ctx context.Context
	r   *kgo.Record
	h   Handler // the route's handler when the record started
}

// workerPool runs handlers for all routes of a consumer. A job goes to an
// idle worker, or to a new one: the number of workers follows the
// handlers running (bounded by MaxInFlightTotal) and falls back to none a
// few seconds after the work stops. Workers are reused so that the stacks
// they grew in HTTP clients and encoders are not grown anew per record.
type workerPool struct {
	jobs chan job // unbuffered: a send succeeds only to an idle worker
}

// exec runs j; it never blocks.
func (w *workerPool) exec(j job) {
	select {
	case w.jobs <- j:
	default:
		go w.run(j)
	}
}

func (w *workerPool) run(j job) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		err := j.h(j.ctx, j.r)
		j.p.finish(j.r, err)
		t.Reset(workerIdle)
		var ok bool
		select {
		case j, ok = <-w.jobs:
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}

// close makes idle workers exit; no job may be started after it.
func (w *workerPool) close() { close(w.jobs) }

// gate bounds the records queued in the partitions it counts (recount): the
// poll loop waits at the bound until the queues are down to half of it.
type gate struct {
	max    int64
	open   atomic.Int64  // records queued in counted partitions
	closed atomic.Bool   // the poll loop waits
	room   chan struct{} // cap 1: the queues went below half
}

// add counts n records queued (negative: started or dropped) and opens
// the gate when the count fell below half of the bound.
func (g *gate) add(n int) {
	if v := g.open.Add(int64(n)); n < 0 && v <= g.max/2 && g.closed.Load() {
		select {
		case g.room <- struct{}{}:
		default:
		}
	}
}

// wait returns once the queues are under the bound, or false when ctx
// ended first.
func (g *gate) wait(ctx context.Context) bool {
	for g.open.Load() >= g.max {
		g.closed.Store(true)
		if g.open.Load() < g.max { // started meanwhile
			break
		}
		select {
		case <-g.room:
		case <-ctx.Done():
			return false
		}
	}
	g.closed.Store(false)
	return true
}

// dirtyList holds the partitions whose commit point moved since the last
// mark.
type dirtyList struct {
	mu sync.Mutex
	ps []*partition
}

func (d *dirtyList) add(p *partition) {
	d.mu.Lock()
	d.ps = append(d.ps, p)
	d.mu.Unlock()
}

// take returns the list and empties it, clearing each one's dirty flag.
func (d *dirtyList) take(buf []*partition) []*partition {
	d.mu.Lock()
	buf = append(buf[:0], d.ps...)
	clear(d.ps)
	d.ps = d.ps[:0]
	d.mu.Unlock()
	for _, p := range buf {
		p.dirty.Store(false)
	}
	return buf
}
