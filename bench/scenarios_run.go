package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// runCeiling POSTs Events webhook bodies, one per request as the deliver
// stage sends them, through the deliver stage's own HTTP client, straight
// to a receiver: at 8, 64 and MaxInFlight requests at a time, over each
// transport. The ceiling of a transport is the best of its runs.
func runCeiling(ctx context.Context, b *Bench) Result {
	var res Result
	for _, t := range b.transports() {
		for _, conc := range slices.Compact([]int{8, 64, b.opts.Sizes.MaxInFlight}) {
			run, err := b.ceilingRun(ctx, conc, t)
			if err != nil {
				res.Error = err.Error()
				return res
			}
			res.Runs = append(res.Runs, run)
			b.ceiling[t.Name] = max(b.ceiling[t.Name], run.EventsPerSec)
		}
		res.Compare = append(res.Compare, Comparison{"ceiling over " + t.Name + " (best of the runs)", b.ceiling[t.Name], "events/s"})
	}
	res.Notes = []string{"the ceiling's CPU/event is the bench process's, client and receiver both; the other scenarios' is the pipeline's"}
	return res
}

func (b *Bench) ceilingRun(ctx context.Context, conc int, t transport) (RunResult, error) {
	n := b.opts.Sizes.Events
	t0 := time.Now()
	rec := newRecorder(t0, n)
	cfg := receiverConfig{Transport: t}
	if t.TLS {
		cfg.Cert = &b.ca.Server
	}
	rcv, err := startReceiver(cfg, rec)
	if err != nil {
		return RunResult{}, err
	}
	defer rcv.close()
	client, r := b.deliveryClient(t, conc), pipeline.NewRenderer([]string{"name", "room"})
	defer client.CloseIdleConnections()
	b.progress("  ceiling: %d requests, %d at a time, %s", n, conc, t.Name)
	cpu := cpuMeterOf(0)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for seq := int(next.Add(1) - 1); seq < n && ctx.Err() == nil; seq = int(next.Add(1) - 1) {
				if postWebhook(ctx, client, rcv.URL(), webhookBody(r, seq, int64(time.Since(t0)))) != nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	lr := loadResult{Accepted: n - int(errs.Load()), Failed: int(errs.Load()), Elapsed: time.Since(t0)}
	rec.wait(ctx, 10*time.Second)
	res := resultOf(fmt.Sprintf("%d concurrent", conc), n, rec, 0, lr)
	res.setCPU(cpu())
	res.setConns(t, rcv.conns.snapshot())
	return res, nil
}

func postWebhook(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// runThroughput ingests Events as fast as ingest answers and measures
// first POST to last first-delivery at a fast receiver, over each
// transport.
func runThroughput(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	var res Result
	for _, t := range b.transports() {
		run, err := b.measure(ctx, runSpec{
			scenario: "throughput", name: "signed, fast endpoint", events: s.Events, batch: s.Batch, transport: t,
			conns: []connSpec{{name: "fast", maxInFlight: s.MaxInFlight, measured: true}},
		})
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, run)
		if c := b.ceiling[t.Name]; c > 0 {
			res.Compare = append(res.Compare, Comparison{"share of the ceiling over " + t.Name, 100 * run.EventsPerSec / c, "%"})
		}
	}
	if len(b.ceiling) == 0 {
		res.Notes = append(res.Notes, "run the ceiling scenario too for the share of the ceiling")
	}
	return res
}

// runLatency sends Rate events/s for Duration, in RateBatch batches on a
// schedule, and reports ingest-to-endpoint percentiles, over each
// transport.
func runLatency(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	n := int(s.Rate * s.Duration.Seconds())
	var res Result
	for _, t := range b.transports() {
		run, err := b.measure(ctx, runSpec{
			scenario: "latency", name: fmt.Sprintf("%.0f events/s for %s", s.Rate, s.Duration),
			events: n, batch: s.RateBatch, rate: s.Rate, transport: t,
			conns: []connSpec{{name: "fast", maxInFlight: s.MaxInFlight, measured: true}},
		})
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, run)
		res.Compare = append(res.Compare, Comparison{"achieved ingest rate over " + t.Name, run.IngestPerSec, "events/s"})
	}
	return res
}

// runSlow measures a slow endpoint with the full in-flight bound over
// each transport, and with one request per partition, the classic
// consumer loop.
func runSlow(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	slow := receiverConfig{Latency: s.SlowLatency}
	bound := float64(s.MaxInFlight) / s.SlowLatency.Seconds()
	var res Result
	for _, t := range b.transports() {
		full, err := b.measure(ctx, runSpec{
			scenario: "slow", name: fmt.Sprintf("max_in_flight=%d", s.MaxInFlight), events: s.SlowEvents, batch: s.Batch,
			transport: t, conns: []connSpec{{name: "slow", rcv: slow, maxInFlight: s.MaxInFlight, measured: true}},
			rampTarget: s.MaxInFlight * 9 / 10,
		})
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, full)
		res.Compare = append(res.Compare, Comparison{"share of the in-flight bound over " + t.Name, 100 * full.EventsPerSec / bound, "%"},
			Comparison{"peak requests in flight at the endpoint over " + t.Name, float64(full.PeakConcurrent), "requests"},
			Comparison{"time to 90 % of max_in_flight at the endpoint over " + t.Name, full.RampSeconds, "s"},
			Comparison{"mean requests in flight at the endpoint while busy over " + t.Name, full.MeanConcurrent, "requests"})
	}
	parts := b.opts.Partitions
	seqBound := float64(parts) / s.SlowLatency.Seconds()
	seq, err := b.measure(ctx, runSpec{
		scenario: "slow", name: fmt.Sprintf("sequential (max_in_flight=%d)", parts),
		events: max(int(seqBound*s.SequentialFor.Seconds()), parts), batch: s.Batch, transport: b.transports()[0],
		conns: []connSpec{{name: "slow", rcv: slow, maxInFlight: parts, measured: true}},
	})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Runs = append(res.Runs, seq)
	res.Compare = append([]Comparison{{"in-flight bound (max_in_flight / latency)", bound, "events/s"}}, res.Compare...)
	res.Compare = append(res.Compare,
		Comparison{"sequential bound (partitions / latency)", seqBound, "events/s"},
		Comparison{"speed-up over sequential", ratio(res.Runs[0].EventsPerSec, seq.EventsPerSec), "x"})
	res.Notes = []string{fmt.Sprintf("the sequential baseline is the same pipeline with max_in_flight = partitions (%d): "+
		"one request in flight per partition on average, not strictly per partition", parts)}
	return res
}

// runIsolation measures a healthy connector alone and beside one that
// answers every request 503 (default retry ladder) and one that takes 2 s:
// at full speed (throughput) and at the latency scenario's fixed rate (p99,
// free of the queueing a full-speed run builds). A third full-speed run,
// the fair baseline, has the healthy connector beside two connectors
// disabled through the API: fanout writes the same three copies of each
// event, and the neighbours send nothing.
func runIsolation(ctx context.Context, b *Bench) Result {
	s := b.opts.Sizes
	healthy := connSpec{name: "healthy", maxInFlight: s.MaxInFlight, measured: true}
	neighbours := []connSpec{healthy,
		{name: "failing", rcv: receiverConfig{FailureRate: 1}, maxInFlight: s.MaxInFlight},
		{name: "slow-2s", rcv: receiverConfig{Latency: 2 * time.Second}, maxInFlight: s.MaxInFlight}}
	idle := []connSpec{healthy,
		{name: "off-1", maxInFlight: s.MaxInFlight, disabled: true},
		{name: "off-2", maxInFlight: s.MaxInFlight, disabled: true}}
	fixed := int(s.Rate * s.Duration.Seconds())
	specs := []runSpec{
		{name: "alone, full speed", events: s.IsolationEvents, batch: s.Batch, conns: []connSpec{healthy}},
		{name: "beside 2 disabled, full speed", events: s.IsolationEvents, batch: s.Batch, conns: idle},
		{name: "with neighbours, full speed", events: s.IsolationEvents, batch: s.Batch, conns: neighbours},
		{name: fmt.Sprintf("alone, %.0f/s", s.Rate), events: fixed, batch: s.RateBatch, rate: s.Rate, conns: []connSpec{healthy}},
		{name: fmt.Sprintf("with neighbours, %.0f/s", s.Rate), events: fixed, batch: s.RateBatch, rate: s.Rate, conns: neighbours},
	}
	var res Result
	for _, spec := range specs {
		spec.scenario, spec.transport = "isolation", b.transports()[0]
		run, err := b.measure(ctx, spec)
		if err != nil {
			res.Error = err.Error()
			return res
		}
		res.Runs = append(res.Runs, run)
	}
	r := res.Runs
	res.Compare = []Comparison{
		{"healthy throughput, with neighbours / alone (the target's baseline)", ratio(r[2].EventsPerSec, r[0].EventsPerSec), "x"},
		{"healthy throughput, with neighbours / beside 2 disabled (same fanout)", ratio(r[2].EventsPerSec, r[1].EventsPerSec), "x"},
		{"healthy deliveries / events ingested per second, with neighbours", ratio(r[2].EventsPerSec, r[2].IngestPerSec), "x"},
		{"pipeline CPU per healthy delivery, with neighbours / alone", ratio(r[2].CPUPerEventMicros, r[0].CPUPerEventMicros), "x"},
		{"bench process CPU (load, receivers and the embedded broker, not a --brokers one) per healthy delivery: alone", r[0].HarnessCPUPerEventMicros, "µs"},
		{"the same beside 2 disabled", r[1].HarnessCPUPerEventMicros, "µs"},
		{"the same with neighbours", r[2].HarnessCPUPerEventMicros, "µs"},
		{"CPU-bound throughput, with neighbours / alone: (pipeline + bench CPU per delivery) alone / with neighbours", cpuBound(r[0], r[2]), "x"},
		{"healthy p99 at a fixed rate, with neighbours / alone", ratio(p99(r[4]), p99(r[3])), "x"},
	}
	res.Notes = []string{"every connector gets every event, so with neighbours (and beside 2 disabled) fanout writes 3 records per event " +
		"on the same cores: 'with neighbours / alone' includes that cost, 'with neighbours / beside 2 disabled' does not",
		"the failing connector has the default retry ladder (10s, 1m, ...): runs shorter than 10 s see no retries"}
	return res
}

// cpuBound is the throughput ratio of run b to run a that their CPU per
// delivery allows when the machine's cores are the bound: all of it, the
// pipeline's and the bench process's. Unlike events/s it holds on a
// machine shared with other work.
func cpuBound(a, b RunResult) float64 {
	return ratio(a.CPUPerEventMicros+a.HarnessCPUPerEventMicros, b.CPUPerEventMicros+b.HarnessCPUPerEventMicros)
}

func p99(r RunResult) float64 {
	if r.Latency == nil {
		return 0
	}
	return r.Latency.P99.Seconds()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
