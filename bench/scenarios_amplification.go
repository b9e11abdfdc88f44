package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rs/xid"

	"github.com/hookpipe/hookpipe/pipeline"
)

// runAmplification sends events at Rate for Outage while the endpoint
// answers every request 503, then brings the endpoint back. It counts the
// requests the endpoint received during the outage against the events
// sent, and measures the drain of the backlog: from the recovery, and
// from the first delivery (once a probe found the endpoint back).
func runAmplification(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	prefix := "bench-amplification-" + xid.New().String()
	defer b.cleanup(prefix)
	n := int(s.Rate * s.Outage.Seconds())
	t0 := time.Now()
	rec := newRecorder(t0, n)
	var down atomic.Bool
	down.Store(true)
	conns := []connSpec{{name: "outage", rcv: receiverConfig{Down: &down}, maxInFlight: s.MaxInFlight, backoff: time.Second, measured: true}}
	t := plainHTTP
	rcvs, urls, err := b.startReceivers(conns, rec, t)
	if err != nil {
		return failed(err)
	}
	defer closeReceivers(rcvs)
	p, err := b.startPipeline(ctx, procConfig{Name: "amplification", Connectors: connectorsHCL(conns, urls, b.caFile(t), t.H2), TopicPrefix: prefix})
	if err != nil {
		return failed(err)
	}
	defer func() { _ = p.stop() }()
	b.progress("  amplification: %d events at %.0f/s with the endpoint down", n, s.Rate)
	lr := runLoad(ctx, b.client, loadConfig{URL: p.IngestURL(), Events: n, Batch: s.RateBatch, Posters: s.Posters, Rate: s.Rate, T0: t0})
	during := rcvs[0].reqs.Load()
	down.Store(false)
	recovered := time.Since(t0)
	first := firstArrival(ctx, rec, drainTimeout(n))
	rec.expect(lr.Accepted)
	rec.wait(ctx, drainTimeout(n))
	drain := resultOf("drain from the recovery", n, rec, recovered, lr)
	drain.Latency = nil // includes the outage: not a latency
	fromFirst := resultOf("drain from the first delivery", n, rec, first, lr)
	fromFirst.Latency = nil
	lost := lr.Accepted - drain.Delivered
	return Result{
		Runs: []RunResult{drain, fromFirst},
		Compare: []Comparison{
			{"events sent during the outage", float64(lr.Accepted), "events"},
			{"requests to the endpoint during the outage", float64(during), "requests"},
			{"requests per event during the outage", 100 * ratio(float64(during), float64(lr.Accepted)), "%"},
			{"lost (accepted, never delivered)", float64(lost), "events"},
			{"wait from the recovery to the first delivery (next probe)", (first - recovered).Seconds(), "s"},
			{"drain rate from the first delivery", fromFirst.EventsPerSec, "events/s"},
		},
		Notes: []string{fmt.Sprintf("one retry tier of 1s; default circuit_breaker; the probe after an outage of %s comes up to a doubled cooldown later", s.Outage),
			"compare the drain rate with the throughput scenario's events/s"},
	}
}

// firstArrival waits until the recorder has a first delivery, and returns
// when that was seen (since the recorder's start), polling every 10 ms.
func firstArrival(ctx context.Context, rec *recorder, timeout time.Duration) time.Duration {
	deadline := time.Now().Add(timeout)
	for rec.got.Load() == 0 && time.Now().Before(deadline) {
		if !pipeline.Sleep(ctx, 10*time.Millisecond) {
			break
		}
	}
	return time.Since(rec.t0)
}
