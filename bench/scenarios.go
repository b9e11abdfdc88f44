package bench

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/xid"
)

// scenario is one measured property.
type scenario struct {
	name string
	what string
	run  func(context.Context, *Bench) Result
}

// scenarioList returns the scenarios in the order a full run takes them.
func scenarioList() []*scenario {
	return []*scenario{
		{"ceiling", "the load generator POSTing webhook bodies straight to the receiver, no pipeline: this machine's bound", runCeiling},
		{"throughput", "events/s delivered end to end to a fast endpoint, signed, as a share of the ceiling", runThroughput},
		{"latency", "ingest-to-endpoint latency at a fixed rate", runLatency},
		{"slow", "a slow endpoint: throughput against the in-flight bound and the sequential baseline", runSlow},
		{"isolation", "a healthy connector beside a failing and a slow one, against running alone", runIsolation},
		{"backlog", "events queued while the endpoint is down, then drained: drain rate and peak RSS", runBacklog},
		{"amplification", "the endpoint down while events arrive at a fixed rate, then back: requests per event during the outage, loss, drain rate", runAmplification},
		{"ordered", "ordering = \"device\" over 1,000 devices and a slow endpoint: throughput against the in-flight bound, events out of their device's order", runOrdered},
		{"connectors", "the same deliveries spread over 1 to 1,000 connectors on one receiver: start to ready, deliveries/s, CPU per delivery, peak RSS, idle CPU", runConnectors},
	}
}

// ScenarioNames are the names --scenarios accepts, in run order.
func ScenarioNames() []string {
	var out []string
	for _, s := range scenarioList() {
		out = append(out, s.name)
	}
	return out
}

func scenarioByName(name string) *scenario {
	for _, s := range scenarioList() {
		if s.name == name {
			return s
		}
	}
	return nil
}

// benchSecret signs every bench connector's webhooks.
const benchSecret = "bench-signature-secret"

// connSpec is one connector of a measured run and its receiver.
type connSpec struct {
	name        string
	rcv         receiverConfig
	maxInFlight int
	backoff     time.Duration // the one retry tier's delay; 0: the default ladder
	measured    bool          // its receiver records the run's events
	ordered     bool          // ordering = "device"; its recorder counts events out of order
	disabled    bool          // :disable'd once the pipeline is ready: fanout writes its copies, nothing is sent
}

// runSpec is one measured pipeline run.
type runSpec struct {
	scenario, name string
	conns          []connSpec
	events         int
	batch          int
	rate           float64 // events/s; 0: as fast as ingest answers
	timeout        time.Duration
	transport      transport // how every receiver serves; zero: plain HTTP
	rampTarget     int       // concurrent requests whose first arrival RampSeconds reports; 0: none
	countOrder     bool      // count first arrivals out of their device's order
	posters        int       // concurrent ingest requests; 0: Sizes.Posters
}

// connectorsHCL renders the connector file of conns, pointing at urls;
// with caFile, every connector trusts it through tls { ca_file }; with
// http2, every connector sets http2 = true.
func connectorsHCL(conns []connSpec, urls []string, caFile string, http2 bool) string {
	var sb strings.Builder
	for i, c := range conns {
		fmt.Fprintf(&sb, "connector %q {\n  url = %q\n  labels = [\"name\", \"room\"]\n", c.name, urls[i])
		fmt.Fprintf(&sb, "  signature_secret = %q\n  max_in_flight = %d\n", benchSecret, c.maxInFlight)
		if caFile != "" {
			fmt.Fprintf(&sb, "  tls {\n    ca_file = %q\n  }\n", caFile)
		}
		if http2 {
			sb.WriteString("  http2 = true\n")
		}
		if c.ordered {
			sb.WriteString("  ordering = \"device\"\n")
		}
		if c.backoff > 0 {
			fmt.Fprintf(&sb, "  retry {\n    backoff = [%q]\n  }\n", c.backoff.String())
		}
		sb.WriteString("}\n")
	}
	return sb.String()
}

// startReceivers starts one receiver per connector, serving over t; the
// measured one records into rec.
func (b *Bench) startReceivers(conns []connSpec, rec *recorder, t transport) ([]*receiver, []string, error) {
	var rcvs []*receiver
	var urls []string
	for _, c := range conns {
		var r *recorder
		if c.measured {
			r = rec
		}
		cfg := c.rcv
		cfg.Transport = t
		if t.TLS {
			cfg.Cert = &b.ca.Server
		}
		rv, err := startReceiver(cfg, r)
		if err != nil {
			closeReceivers(rcvs)
			return nil, nil, err
		}
		rcvs, urls = append(rcvs, rv), append(urls, rv.URL())
	}
	return rcvs, urls, nil
}

func closeReceivers(rcvs []*receiver) {
	for _, r := range rcvs {
		r.close()
	}
}

// measure runs spec: receivers, a pipeline subprocess with all stages, the
// load, then waits until the measured receiver has every event or the
// timeout passes. The topics are deleted afterwards.
func (b *Bench) measure(ctx context.Context, spec runSpec) (RunResult, error) {
	prefix := "bench-" + spec.scenario + "-" + xid.New().String()
	defer b.cleanup(prefix)
	t0 := time.Now()
	rec := newRecorder(t0, spec.events)
	if spec.countOrder {
		rec.order = new(deviceOrder)
	}
	t := cmp.Or(spec.transport, plainHTTP)
	rcvs, urls, err := b.startReceivers(spec.conns, rec, t)
	if err != nil {
		return RunResult{}, err
	}
	defer closeReceivers(rcvs)
	p, err := b.startPipeline(ctx, procConfig{
		Name: spec.scenario + "-" + spec.name + "-" + t.Name, Connectors: connectorsHCL(spec.conns, urls, b.caFile(t), t.H2), TopicPrefix: prefix,
	})
	if err != nil {
		return RunResult{}, err
	}
	for _, c := range spec.conns {
		if c.disabled {
			if err := p.disable(ctx, c.name); err != nil {
				_ = p.stop()
				return RunResult{}, err
			}
		}
	}
	b.progress("  %s/%s: %d events", spec.scenario, spec.name, spec.events)
	start := time.Since(t0)
	cpu, harness := p.cpuMeter(), cpuMeterOf(0)
	mr := measuredReceiver(spec.conns, rcvs)
	conns := mr.conns.snapshot()
	meanInFlight := func() float64 { return 0 }
	if spec.rampTarget > 0 {
		mr.ramp.target.Store(int64(spec.rampTarget))
		sctx, stop := context.WithCancel(ctx)
		defer stop()
		ch := mr.ramp.sample(sctx, 50*time.Millisecond)
		meanInFlight = func() float64 { stop(); return <-ch }
	}
	lr := runLoad(ctx, b.client, loadConfig{
		URL: p.IngestURL(), Events: spec.events, Batch: spec.batch, Posters: cmp.Or(spec.posters, b.opts.Sizes.Posters), Rate: spec.rate, T0: t0,
	})
	if lr.Failed > 0 {
		rec.expect(lr.Accepted)
	}
	rec.wait(ctx, cmpOr(spec.timeout, drainTimeout(spec.events)))
	res := resultOf(spec.name, spec.events, rec, start, lr)
	res.setCPU(cpu())
	if h, ok := harness(); ok && res.Delivered > 0 {
		res.HarnessCPUPerEventMicros = float64(h.Microseconds()) / float64(res.Delivered)
	}
	res.setConns(t, mr.conns.snapshot().sub(conns))
	res.PeakConcurrent, res.RampSeconds = rampOf(&mr.ramp)
	res.MeanConcurrent = meanInFlight()
	res.PeakRSSBytes = p.peakRSS()
	if rec.order != nil {
		n := int(rec.order.disorder.Load())
		res.OutOfOrder = &n
	}
	if err := p.stop(); err != nil {
		res.Notes = append(res.Notes, "pipeline stop: "+err.Error())
	}
	return res, nil
}

// resultOf summarises a run from the recorder and the load result.
func resultOf(name string, events int, rec *recorder, start time.Duration, lr loadResult) RunResult {
	got := int(rec.got.Load())
	d := time.Duration(rec.last.Load()) - start
	res := RunResult{
		Name: name, Events: events, Ingested: lr.Accepted, Delivered: got,
		Duplicates: int(rec.dups.Load()), Seconds: d.Seconds(), EventsPerSec: rate(got, d),
		IngestPerSec: lr.Rate(),
	}
	if got > 0 {
		res.AvgBodyBytes = int(rec.bytes.Load()) / got
		l := Summarise(rec.latencies())
		res.Latency = &l
	}
	if lr.Failed > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d events failed ingest", lr.Failed))
	}
	if got < events {
		res.Notes = append(res.Notes, fmt.Sprintf("incomplete: %d of %d delivered before the deadline", got, events))
	}
	return res
}

// drainTimeout bounds the wait for n events: a minute plus 1 ms each.
func drainTimeout(n int) time.Duration { return time.Minute + time.Duration(n)*time.Millisecond }

func cmpOr(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

// measuredReceiver returns the receiver of the measured connector.
func measuredReceiver(conns []connSpec, rcvs []*receiver) *receiver {
	for i, c := range conns {
		if c.measured {
			return rcvs[i]
		}
	}
	return rcvs[0]
}

// caFile is the CA file connectors over t trust, or "" for plain HTTP.
func (b *Bench) caFile(t transport) string {
	if !t.TLS || b.ca == nil {
		return ""
	}
	return b.ca.File
}

// failed returns a Result that reports err.
func failed(err error) Result { return Result{Error: err.Error()} }
