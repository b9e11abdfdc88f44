package bench

import (
	"context"
	"fmt"
	"sync/atomic"
)

// runOrdered measures a connector with ordering = "device" at the slow
// endpoint (SlowLatency) with the full in-flight bound, the load spread
// over the bench's 1,000 devices, against the in-flight bound and beside
// the same run unordered. Every device then has at most one request in
// flight, so with max_in_flight = 1,000 the bound is reached only when
// nearly every device is busy all the time.
func runOrdered(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	slow := receiverConfig{Latency: s.SlowLatency}
	bound := float64(min(s.MaxInFlight, devices)) / s.SlowLatency.Seconds()
	t := b.transports()[0]
	var res Result
	for _, ordered := range []bool{true, false} {
		name := fmt.Sprintf("ordering = \"device\", %d devices, max_in_flight=%d", devices, s.MaxInFlight)
		if !ordered {
			name = "ordering = \"none\" (the same load, for reference)"
		}
		run, err := b.measure(ctx, runSpec{
			scenario: "ordered", name: name, events: s.SlowEvents, batch: s.Batch, transport: t, countOrder: true,
			posters:    1, // so that ingest order is the events' order, which the receiver checks
			conns:      []connSpec{{name: "ordered", rcv: slow, maxInFlight: s.MaxInFlight, measured: true, ordered: ordered}},
			rampTarget: s.MaxInFlight * 9 / 10,
		})
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, run)
		what := map[bool]string{true: "ordered", false: "unordered"}[ordered]
		res.Compare = append(res.Compare,
			Comparison{"share of the in-flight bound, " + what, 100 * run.EventsPerSec / bound, "%"},
			Comparison{"mean requests in flight at the endpoint while busy, " + what, run.MeanConcurrent, "requests"},
			Comparison{"events delivered after a later event of their device, " + what, float64(*run.OutOfOrder), "events"})
	}
	res.Compare = append([]Comparison{{"in-flight bound (min(max_in_flight, devices) / latency)", bound, "events/s"}}, res.Compare...)
	res.Notes = []string{fmt.Sprintf("events go to the %d devices round robin, so each partition interleaves its devices' events", devices),
		"one ingest request at a time, so that ingest order is event order; the unordered run's count is approximate (requests of a device overlap)"}
	return res
}

// deviceOrder counts first arrivals of an event after a later event of its
// device (event seq belongs to device seq % devices). Safe for concurrent
// use; exact when a device has one request in flight at a time.
type deviceOrder struct {
	last     [devices]atomic.Int64 // 1 + the highest seq arrived per device
	disorder atomic.Int64
}

func (o *deviceOrder) see(seq int) {
	d, v := seq%devices, int64(seq)+1
	for {
		l := o.last[d].Load()
		if v < l {
			o.disorder.Add(1)
			return
		}
		if o.last[d].CompareAndSwap(l, v) {
			return
		}
	}
}
