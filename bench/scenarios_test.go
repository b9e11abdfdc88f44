package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
)

// The connector file the bench writes is one hookpipe accepts, with the
// in-flight bound and retry ladder the scenario asked for.
func TestConnectorsHCLLoads(t *testing.T) {
	conns := []connSpec{
		{name: "healthy", maxInFlight: 1000},
		{name: "failing", maxInFlight: 12, backoff: time.Second},
	}
	dir := t.TempDir()
	hcl := connectorsHCL(conns, []string{"http://127.0.0.1:1/hook", "http://127.0.0.1:2/hook"}, "", false)
	if err := os.WriteFile(filepath.Join(dir, "bench.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	got, diags := config.LoadConnectors(dir, func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatalf("LoadConnectors: %s\n%s", config.FormatDiagnostics(diags), hcl)
	}
	if len(got) != 2 || got[0].Name != "failing" || got[0].MaxInFlight != 12 || got[1].MaxInFlight != 1000 {
		t.Fatalf("connectors = %+v", got)
	}
	if b := got[0].Retry.Backoff; len(b) != 1 || b[0] != time.Second {
		t.Errorf("failing backoff = %v, want [1s]", b)
	}
	if got[1].SignatureSecret == "" {
		t.Error("healthy is unsigned; bench connectors sign")
	}
}

// Zero sizes take the defaults; set ones are kept; quick is smaller.
func TestSizesDefaults(t *testing.T) {
	s := Sizes{Events: 5, Duration: time.Second}.withDefaults(Defaults())
	if s.Events != 5 || s.Duration != time.Second || s.Batch != 100 || s.BacklogEvents != 1_000_000 {
		t.Errorf("withDefaults = %+v", s)
	}
	if q := QuickDefaults(); q.BacklogEvents >= Defaults().BacklogEvents || q.Events >= Defaults().Events {
		t.Errorf("quick sizes %+v are not smaller than the defaults", q)
	}
	if err := (Sizes{Batch: 1001}).check(); err == nil {
		t.Error("batch 1001 accepted; the pipeline takes at most 1000 per request")
	}
}

// Every scenario name resolves, and names stay file-name safe.
func TestScenarioNames(t *testing.T) {
	for _, n := range ScenarioNames() {
		if scenarioByName(n) == nil {
			t.Errorf("scenario %q not found by name", n)
		}
	}
	if got := fileName("latency-1000 events/s for 5s"); got != "latency-1000_events_s_for_5s" {
		t.Errorf("fileName = %q", got)
	}
}

// The table has one row per run, the comparisons below, and a dash for a
// run without latencies.
func TestWriteTable(t *testing.T) {
	res := []Result{{
		Scenario: "slow", What: "a slow endpoint", Machine: Machine{Cores: 2, Broker: "embedded kfake"},
		Runs: []RunResult{
			{Name: "full", Events: 10, Delivered: 10, Seconds: 1, EventsPerSec: 10, Latency: &Latency{P50: time.Millisecond}},
			{Name: "sequential", Events: 10, Delivered: 9, Notes: []string{"incomplete"}},
		},
		Compare: []Comparison{{"speed-up over sequential", 61.2, "x"}},
	}}
	var buf bytes.Buffer
	if err := WriteTable(&buf, res); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"embedded kfake", "full", "1.0ms", "sequential", "speed-up over sequential: 61.2 x", "sequential: incomplete"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
