package kafka

import (
	"context"
	"sync"
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
		err := j.p.lane.route.Handle(j.ctx, j.r)
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
