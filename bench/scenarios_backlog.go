package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/xid"

	"github.com/hookpipe/hookpipe/pipeline"
)

// runBacklog queues BacklogEvents while no deliver stage runs (a process
// with --stages ingest,fanout: the events wait on the connector topic, as
// they would while the endpoint is down), stops it, then starts a process
// with --stages deliver,retry and measures the drain rate and its peak RSS.
func runBacklog(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	prefix := "bench-backlog-" + xid.New().String()
	defer b.cleanup(prefix)
	t0 := time.Now()
	rec := newRecorder(t0, s.BacklogEvents)
	conns := []connSpec{{name: "backlog", maxInFlight: s.MaxInFlight, measured: true}}
	t := b.transports()[0]
	rcvs, urls, err := b.startReceivers(conns, rec, t)
	if err != nil {
		return failed(err)
	}
	defer closeReceivers(rcvs)
	hcl := connectorsHCL(conns, urls, b.caFile(t), t.H2)
	queue, err := b.queueBacklog(ctx, procConfig{Name: "backlog-queue", Connectors: hcl, TopicPrefix: prefix, Stages: "ingest,fanout"}, t0)
	if err != nil {
		return failed(err)
	}
	drainStart := time.Since(t0)
	p, err := b.startPipeline(ctx, procConfig{Name: "backlog-drain", Connectors: hcl, TopicPrefix: prefix, Stages: "deliver,retry"})
	if err != nil {
		return Result{Runs: []RunResult{queue}, Error: err.Error()}
	}
	b.progress("  backlog: draining %d events", queue.Ingested)
	cpu, before := p.cpuMeter(), rcvs[0].conns.snapshot()
	rec.expect(queue.Ingested)
	rec.wait(ctx, drainTimeout(s.BacklogEvents))
	drain := resultOf("drain (deliver,retry)", s.BacklogEvents, rec, drainStart, loadResult{Accepted: queue.Ingested})
	drain.setCPU(cpu())
	drain.setConns(t, rcvs[0].conns.snapshot().sub(before))
	drain.Latency = nil // ingest-to-endpoint includes the queueing time: not a latency
	drain.PeakRSSBytes = p.peakRSS()
	if err := p.stop(); err != nil {
		drain.Notes = append(drain.Notes, "pipeline stop: "+err.Error())
	}
	return Result{
		Runs:    []RunResult{queue, drain},
		Compare: []Comparison{{"drain rate", drain.EventsPerSec, "events/s"}, {"drain peak RSS", float64(drain.PeakRSSBytes) / (1 << 20), "MiB"}},
		Notes: []string{"drain time runs from starting the deliver process (start-up included) to the last first delivery",
			"the drain's CPU/event is the delivery stage alone (deliver,retry process); the queue's is ingest and fanout per event queued",
			"peak RSS should be bounded by max_in_flight, not by the backlog: compare runs with different --backlog-events"},
	}
}

// queueBacklog ingests the backlog with an ingest,fanout process, waits
// until fanout has committed every event, and stops the process.
func (b *Bench) queueBacklog(ctx context.Context, cfg procConfig, t0 time.Time) (RunResult, error) {
	s := b.opts.Sizes
	p, err := b.startPipeline(ctx, cfg)
	if err != nil {
		return RunResult{}, err
	}
	b.progress("  backlog: queueing %d events", s.BacklogEvents)
	cpu := p.cpuMeter()
	lr := runLoad(ctx, b.client, loadConfig{
		URL: p.IngestURL(), Events: s.BacklogEvents, Batch: s.Batch, Posters: s.Posters, T0: t0,
	})
	lagErr := b.waitFanout(ctx, cfg.TopicPrefix, drainTimeout(s.BacklogEvents))
	res := RunResult{
		Name: "queue (ingest,fanout)", Events: s.BacklogEvents, Ingested: lr.Accepted,
		Seconds: time.Since(t0).Seconds(), IngestPerSec: lr.Rate(), PeakRSSBytes: p.peakRSS(),
	}
	if d, ok := cpu(); ok && lr.Accepted > 0 { // per event queued: nothing is delivered yet
		res.CPUSeconds, res.CPUPerEventMicros = d.Seconds(), float64(d.Microseconds())/float64(lr.Accepted)
	}
	if err := p.stop(); err != nil {
		res.Notes = append(res.Notes, "pipeline stop: "+err.Error())
	}
	if lagErr != nil {
		return res, lagErr
	}
	return res, nil
}

// waitFanout polls the fanout group's lag every 200 ms until it is zero
// or timeout passes.
func (b *Bench) waitFanout(ctx context.Context, prefix string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		lag, err := b.fanoutLag(ctx, prefix)
		if err == nil && lag == 0 {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("fanout lag %d", lag)
		}
		if !pipeline.Sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("fanout did not catch up within %s: %v", timeout, last)
}
