package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/xid"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Targets of the connectors scenario (issue 10): the largest count
// against one connector, same run.
const (
	targetRateShare = 0.8  // deliveries/s at least 80 % of one connector's
	targetCPURatio  = 1.5  // CPU per delivery at most 1.5 times
	targetRSSMiB    = 512  // peak RSS
	targetIdleCPU   = 5.0  // idle CPU, % of one core
	targetReadySecs = 15.0 // start to ready
)

// idleWindow is how long the connectors scenario measures idle CPU, after
// idleSettle without load.
const (
	idleSettle = 3 * time.Second
	idleWindow = 10 * time.Second
)

// runConnectors runs, for each of ConnectorCounts, a pipeline with that
// many connectors on one receiver, and sends ConnectorDeliveries/count
// events, each delivered to every connector: the same deliveries spread
// over more connectors. It measures start to ready, deliveries/s, the
// pipeline's CPU per delivery and peak RSS, and its idle CPU afterwards.
func runConnectors(ctx context.Context, b *Bench) Result {
	var res Result
	for _, n := range b.opts.Sizes.ConnectorCounts {
		if ctx.Err() != nil {
			break
		}
		run, err := b.connectorsRun(ctx, n)
		if err != nil {
			run.Name = strconv.Itoa(n) + " connectors"
			run.Notes = append(run.Notes, "failed: "+err.Error())
		}
		res.Runs = append(res.Runs, run)
	}
	res.Compare, res.Notes = connectorTargets(res.Runs)
	return res
}

func (b *Bench) connectorsRun(ctx context.Context, n int) (RunResult, error) {
	events := max(b.opts.Sizes.ConnectorDeliveries/n, 1)
	total := events * n
	prefix := "bench-connectors-" + xid.New().String()
	defer b.cleanup(prefix)
	t0 := time.Now()
	rec := newRecorder(t0, total)
	rcv, err := startReceiver(receiverConfig{Stride: events}, rec)
	if err != nil {
		return RunResult{}, err
	}
	defer rcv.close()
	conns := make([]connSpec, n)
	urls := make([]string, n)
	for i := range conns {
		conns[i] = connSpec{name: fmt.Sprintf("c%05d", i), maxInFlight: b.opts.Sizes.MaxInFlight}
		urls[i] = rcv.URL() + "/" + strconv.Itoa(i)
	}
	began := time.Now()
	p, err := b.startPipeline(ctx, procConfig{
		Name: "connectors-" + strconv.Itoa(n), Connectors: connectorsHCL(conns, urls, "", false), TopicPrefix: prefix,
		ReadyTimeout: 5 * time.Minute,
	})
	if err != nil {
		return RunResult{}, err
	}
	ready := time.Since(began)
	b.progress("  connectors/%d: ready in %.1fs; %d events to each connector", n, ready.Seconds(), events)
	cpu0 := p.cpuTime()
	start := time.Since(t0)
	lr := runLoad(ctx, b.client, loadConfig{URL: p.IngestURL(), Events: events, Batch: b.opts.Sizes.Batch, Posters: b.opts.Sizes.Posters, T0: t0})
	if lr.Failed > 0 {
		rec.expect(lr.Accepted * n)
	}
	rec.wait(ctx, drainTimeout(total))
	cpu := p.cpuTime() - cpu0
	res := resultOf(strconv.Itoa(n)+" connectors", total, rec, start, lr)
	res.Connectors, res.ReadySeconds, res.PeakRSSBytes = n, ready.Seconds(), p.peakRSS()
	if res.Delivered > 0 {
		res.CPUMicrosPerDelivery = float64(cpu.Microseconds()) / float64(res.Delivered)
	}
	res.setCPU(cpu, cpu > 0)
	res.setCPU(cpu, cpu > 0)
	if pipeline.Sleep(ctx, idleSettle) {
		c0 := p.cpuTime()
		if pipeline.Sleep(ctx, idleWindow) {
			res.IdleCPUPercent = 100 * float64(p.cpuTime()-c0) / float64(idleWindow)
		}
	}
	if err := p.stop(); err != nil {
		res.Notes = append(res.Notes, "pipeline stop: "+err.Error())
	}
	return res, nil
}

// connectorTargets compares the largest count with one connector and
// says which of the targets are met.
func connectorTargets(runs []RunResult) ([]Comparison, []string) {
	var one, big *RunResult
	for i := range runs {
		r := &runs[i]
		if r.Connectors == 1 {
			one = r
		}
		if r.Connectors > 1 && (big == nil || r.Connectors > big.Connectors) {
			big = r
		}
	}
	if one == nil || big == nil || one.EventsPerSec == 0 || one.CPUMicrosPerDelivery == 0 {
		return nil, nil
	}
	rssMiB := float64(big.PeakRSSBytes) / (1 << 20)
	share := big.EventsPerSec / one.EventsPerSec
	ratio := big.CPUMicrosPerDelivery / one.CPUMicrosPerDelivery
	at := fmt.Sprintf("%d connectors", big.Connectors)
	cmp := []Comparison{
		{"deliveries/s at " + at + " / at 1", 100 * share, "%"},
		{"CPU per delivery at " + at + " / at 1", ratio, "x"},
	}
	verdict := func(ok bool, what string, args ...any) string {
		s := "MISSED"
		if ok {
			s = "met"
		}
		return fmt.Sprintf("target %s: "+what, append([]any{s}, args...)...)
	}
	notes := []string{
		verdict(share >= targetRateShare, "deliveries/s at %s %.0f%% of 1 connector (want >= %.0f%%)", at, 100*share, 100*targetRateShare),
		verdict(ratio <= targetCPURatio, "CPU per delivery %.2fx of 1 connector (want <= %.1fx)", ratio, targetCPURatio),
		verdict(rssMiB <= targetRSSMiB, "peak RSS %.0f MiB (want <= %d MiB)", rssMiB, targetRSSMiB),
		verdict(big.IdleCPUPercent <= targetIdleCPU, "idle CPU %.1f%% of a core (want <= %.0f%%)", big.IdleCPUPercent, targetIdleCPU),
		verdict(big.ReadySeconds <= targetReadySecs, "start to ready %.1fs (want <= %.0fs)", big.ReadySeconds, targetReadySecs),
		verdict(big.Delivered == big.Events, "nothing lost: %d of %d delivered", big.Delivered, big.Events),
	}
	return cmp, notes
}
