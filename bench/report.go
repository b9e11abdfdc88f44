package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario's outcome.
type Result struct {
	// Scenario is the scenario's name; What says what it measures.
	Scenario string `json:"scenario"`
	What     string `json:"what"`
	// Machine is where it was measured.
	Machine Machine `json:"machine"`
	// Runs are the measured runs, e.g. alone and with neighbours.
	Runs []RunResult `json:"runs"`
	// Compare holds the derived figures: shares, ratios, bounds.
	Compare []Comparison `json:"compare,omitempty"`
	// Notes qualify the figures.
	Notes []string `json:"notes,omitempty"`
	// LoadBefore and LoadAfter are the machine's 1-minute load average
	// when the scenario started and ended: other work on the machine
	// skews every figure.
	LoadBefore float64 `json:"loadBefore"`
	LoadAfter  float64 `json:"loadAfter"`
	// Error is set when the scenario could not be measured.
	Error string `json:"error,omitempty"`
}

// RunResult is one measured run of a scenario.
type RunResult struct {
	// Name says what distinguishes the run.
	Name string `json:"name"`
	// Events were sent; Ingested were answered 202 (or 2xx by the
	// receiver, for the ceiling); Delivered arrived, each counted once;
	// Duplicates are further arrivals of delivered events.
	Events     int `json:"events"`
	Ingested   int `json:"ingested"`
	Delivered  int `json:"delivered"`
	Duplicates int `json:"duplicates"`
	// Seconds runs from the first request to the last first arrival.
	Seconds float64 `json:"seconds"`
	// EventsPerSec is Delivered per Seconds; IngestPerSec is Ingested per
	// second of the load generator's run.
	EventsPerSec float64 `json:"eventsPerSec"`
	IngestPerSec float64 `json:"ingestPerSec"`
	// Latency is ingest to endpoint, first arrivals only.
	Latency *Latency `json:"latency,omitempty"`
	// OutOfOrder counts, in the ordered scenario, first arrivals of an
	// event after a later event of the same device.
	OutOfOrder *int `json:"outOfOrder,omitempty"`
	// AvgBodyBytes is the mean webhook body size received.
	AvgBodyBytes int `json:"avgBodyBytes,omitempty"`
	// PeakRSSBytes is the pipeline process's VmHWM at the run's end.
	PeakRSSBytes int64 `json:"peakRssBytes,omitempty"`
	// Transport is how the endpoint served: "http", "https/1.1" or
	// "https/2" (HTTP/2 negotiated by ALPN).
	Transport string `json:"transport,omitempty"`
	// CPUSeconds is the CPU time, user plus system, that the pipeline
	// process used from the first ingest request to the last first
	// arrival (for the ceiling: the bench process, client and receiver
	// both), read from /proc/<pid>/stat in 10 ms steps.
	CPUSeconds float64 `json:"cpuSeconds,omitempty"`
	// CPUPerEventMicros is CPUSeconds per delivered event, in µs. Unlike
	// EventsPerSec it does not depend on how much of the machine other
	// work leaves to the pipeline.
	CPUPerEventMicros float64 `json:"cpuPerEventMicros,omitempty"`
	// Conns are the connections the measured receiver accepted during the
	// run; Handshakes the TLS handshakes it completed, Resumed of them
	// resumed a session, H2 of them negotiated HTTP/2.
	Conns      int64 `json:"conns"`
	Handshakes int64 `json:"tlsHandshakes,omitempty"`
	Resumed    int64 `json:"tlsResumed,omitempty"`
	H2         int64 `json:"h2Conns,omitempty"`
	// PeakConcurrent is the most requests the measured receiver served at
	// once; RampSeconds, for runs with a target (the slow scenario), is the
	// time from its first request until it served 90 % of max_in_flight at
	// once, 0 when it never did.
	PeakConcurrent int64   `json:"peakConcurrent,omitempty"`
	RampSeconds    float64 `json:"rampSeconds,omitempty"`
	// MeanConcurrent is the mean of the measured receiver's requests in
	// flight, sampled every 50 ms while it had any (the slow scenario).
	MeanConcurrent float64 `json:"meanConcurrent,omitempty"`
	// ConnsPer1k and HandshakesPer1k are Conns and Handshakes per 1,000
	// delivered events.
	ConnsPer1k      float64 `json:"connsPer1k"`
	HandshakesPer1k float64 `json:"tlsHandshakesPer1k,omitempty"`
	// Connectors, ReadySeconds (process start to /readyz 200),
	// CPUMicrosPerDelivery (the pipeline process's user+system CPU from
	// the first request to the last delivery, per delivery) and
	// IdleCPUPercent (its CPU, in % of one core, over 10 s without load
	// after the run) are set by the connectors scenario.
	Connectors           int     `json:"connectors,omitempty"`
	ReadySeconds         float64 `json:"readySeconds,omitempty"`
	CPUMicrosPerDelivery float64 `json:"cpuMicrosPerDelivery,omitempty"`
	IdleCPUPercent       float64 `json:"idleCpuPercent,omitempty"`
	// HarnessCPUPerEventMicros is the bench process's own CPU (load
	// generator, receivers and, without --brokers, the embedded broker)
	// per delivered event over the same span as CPUPerEventMicros; set by
	// measured runs.
	HarnessCPUPerEventMicros float64 `json:"harnessCpuPerEventMicros,omitempty"`
	// Notes qualify this run.
	Notes []string `json:"notes,omitempty"`
}

// Comparison is a figure derived from runs, or a bound to judge them by.
type Comparison struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// WriteTable writes results as a table, one row per run, with the
// comparisons and notes of each scenario below it.
func WriteTable(w io.Writer, results []Result) error {
	if len(results) > 0 {
		m := results[0].Machine
		fmt.Fprintf(w, "hookpipe %s bench, %s, %s/%s, %d cores (GOMAXPROCS %d) %s, broker: %s, %s\n\n",
			m.Hookpipe, m.Date, m.OS, m.Arch, m.Cores, m.GOMAXPROCS, m.CPU, m.Broker, m.GoVersion)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trun\tvia\tevents\tdelivered\tdups\tseconds\tevents/s\tingest/s\tCPU/event\tp50\tp90\tp99\tmax\tconns/1k\tTLS hs/1k\tbody\tpeak RSS\t")
	for _, r := range results {
		if len(r.Runs) == 0 {
			fmt.Fprintf(tw, "%s\t(failed)%s\n", r.Scenario, strings.Repeat("\t", 17))
		}
		for _, run := range r.Runs {
			fmt.Fprintln(tw, tableRow(r.Scenario, run))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeConnectorsTable(w, results); err != nil {
		return err
	}
	for _, r := range results {
		writeDetails(w, r)
	}
	return nil
}

// writeConnectorsTable writes the connectors scenario's figures, one row
// per connector count, when it ran.
func writeConnectorsTable(w io.Writer, results []Result) error {
	var runs []RunResult
	for _, r := range results {
		for _, run := range r.Runs {
			if run.Connectors > 0 {
				runs = append(runs, run)
			}
		}
	}
	if len(runs) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "connectors\tstart to ready\tdeliveries\tlost\tdeliveries/s\tCPU per delivery\tpeak RSS\tidle CPU\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%.2f s\t%d\t%d\t%s\t%.0f µs\t%.0f MiB\t%.1f %%\t\n", r.Connectors, r.ReadySeconds, r.Delivered,
			r.Events-r.Delivered, num(r.EventsPerSec), r.CPUMicrosPerDelivery, float64(r.PeakRSSBytes)/(1<<20), r.IdleCPUPercent)
	}
	return tw.Flush()
}

func tableRow(scenario string, r RunResult) string {
	cells := []string{scenario, r.Name, cmp.Or(r.Transport, "-"), strconv.Itoa(r.Events), strconv.Itoa(r.Delivered),
		strconv.Itoa(r.Duplicates), fmt.Sprintf("%.2f", r.Seconds), num(r.EventsPerSec), num(r.IngestPerSec), "-"}
	if r.CPUPerEventMicros > 0 {
		cells[len(cells)-1] = num(r.CPUPerEventMicros) + " µs"
	}
	if l := r.Latency; l != nil {
		cells = append(cells, dur(l.P50), dur(l.P90), dur(l.P99), dur(l.Max))
	} else {
		cells = append(cells, "-", "-", "-", "-")
	}
	conns, hs := "-", "-"
	if r.Delivered > 0 && r.Transport != "" {
		conns = num(r.ConnsPer1k)
	}
	if strings.HasPrefix(r.Transport, "https") && r.Delivered > 0 {
		hs = num(r.HandshakesPer1k)
	}
	cells = append(cells, conns, hs)
	body, rss := "-", "-"
	if r.AvgBodyBytes > 0 {
		body = strconv.Itoa(r.AvgBodyBytes) + " B"
	}
	if r.PeakRSSBytes > 0 {
		rss = fmt.Sprintf("%.0f MiB", float64(r.PeakRSSBytes)/(1<<20))
	}
	return strings.Join(append(cells, body, rss), "\t") + "\t"
}

// setCPU records the CPU time a run used, when it could be read.
func (r *RunResult) setCPU(cpu time.Duration, ok bool) {
	if !ok || r.Delivered == 0 {
		return
	}
	r.CPUSeconds = cpu.Seconds()
	r.CPUPerEventMicros = float64(cpu.Microseconds()) / float64(r.Delivered)
}

// setConns records the measured receiver's connections over t.
func (r *RunResult) setConns(t transport, c connSnapshot) {
	r.Transport, r.Conns = t.Name, c.Conns
	if t.TLS {
		r.Handshakes, r.Resumed, r.H2 = c.Handshakes, c.Resumed, c.H2
	}
	if r.Delivered > 0 {
		r.ConnsPer1k = 1000 * float64(r.Conns) / float64(r.Delivered)
		r.HandshakesPer1k = 1000 * float64(r.Handshakes) / float64(r.Delivered)
	}
}

func writeDetails(w io.Writer, r Result) {
	var lines []string
	for _, c := range r.Compare {
		lines = append(lines, fmt.Sprintf("%s: %s %s", c.Name, num(c.Value), c.Unit))
	}
	for _, run := range r.Runs {
		for _, n := range run.Notes {
			lines = append(lines, run.Name+": "+n)
		}
	}
	lines = append(lines, r.Notes...)
	if cores := float64(r.Machine.Cores); r.LoadBefore > cores/2 {
		lines = append(lines, fmt.Sprintf("WARNING: the machine was busy: load average %.1f before, %.1f after, on %d cores",
			r.LoadBefore, r.LoadAfter, r.Machine.Cores))
	}
	if r.Error != "" {
		lines = append(lines, "ERROR: "+r.Error)
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s — %s\n", r.Scenario, r.What)
	for _, l := range lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
}

// num formats a figure with three significant digits or thousands.
func num(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// dur formats a latency in milliseconds, or seconds above 10 s.
func dur(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// WriteJSON writes results, indented, to the file path.
func WriteJSON(path string, results []Result) error {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
