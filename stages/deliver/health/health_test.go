package health

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

// Every state change sets hookpipe_connector_state and writes one log
// line with its details; :disable and :enable through SetAdmin take
// effect at once in this process; time to loss follows the oldest
// pending event.
func TestHealthChangesAreSeen(t *testing.T) {
	var logs bytes.Buffer
	m := metrics.NewMetrics()
	h := New(Config{
		Connectors: []*pipeline.Connector{testConnector(nil)},
		Metrics:    m, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	state := func() float64 { return stateMetric(t, m, "c", "USER_DISABLED") }
	ctx := context.Background()
	if err := h.SetAdmin(ctx, "c", Admin{State: StateUserDisabled, Reason: "by API"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.View("c", time.Now()); v.State != StateUserDisabled || state() != 1 {
		t.Fatalf("after disable: view %+v, metric %v", v, state())
	}
	if err := h.SetAdmin(ctx, "c", Admin{State: StateActive}); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.View("c", time.Now()); v.State != StateActive || state() != 0 {
		t.Fatalf("after enable: view %+v, metric %v", v, state())
	}
	if err := h.SetAdmin(ctx, "nope", Admin{State: StateActive}); err == nil || !strings.Contains(err.Error(), `no connector named "nope"`) {
		t.Errorf("unknown connector: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "to=USER_DISABLED") || !strings.Contains(lines[0], `reason="by API"`) ||
		!strings.Contains(lines[1], "from=USER_DISABLED to=ACTIVE") {
		t.Errorf("log lines:\n%s", logs.String())
	}

	now := time.UnixMilli(time.Now().UnixMilli())
	h.SetOldestPending("c", now.Add(-10*time.Minute))
	h.Tick(now)
	v, _ := h.View("c", now)
	if v.OldestPending != 10*time.Minute || v.ExpiresIn != 50*time.Minute {
		t.Errorf("oldest pending %v expires in %v, want 10m and 50m", v.OldestPending, v.ExpiresIn)
	}
	h.SetOldestPending("c", time.Time{})
	if v, _ := h.View("c", now); v.OldestPending != 0 || v.ExpiresIn != time.Hour {
		t.Errorf("nothing pending: %v %v", v.OldestPending, v.ExpiresIn)
	}
}

// stateMetric reads hookpipe_connector_state{connector, state} from m.
func stateMetric(t *testing.T, m *metrics.Metrics, connector, state string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "hookpipe_connector_state" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["connector"] == connector && labels["state"] == state {
				return mt.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// Tick takes each connector's share of its rate limit from the
// partitions its consumers were assigned here, and its time to loss from
// the earliest expiry they hold.
func TestHealthTickFromSources(t *testing.T) {
	c := testConnector(func(c *pipeline.Connector) { c.RateLimit = 120 })
	h := New(Config{Connectors: []*pipeline.Connector{c}, Partitions: func(*pipeline.Connector) int { return 12 }})
	now := time.UnixMilli(time.Now().UnixMilli())
	h.AddSource(func(fn func(string, int, time.Time)) { fn("c", 2, now.Add(50*time.Minute)) }) // deliver: 2 of 4
	h.AddSource(func(fn func(string, int, time.Time)) { fn("c", 4, time.Time{}) })             // retry: 4 of 8, nothing pending
	h.Tick(now)
	if got := h.Gate("c").Limiter().Rate(); got != 60 {
		t.Errorf("rate %v, want 120 × 6/12 = 60", got)
	}
	if v, _ := h.View("c", now); v.OldestPending != 10*time.Minute || v.ExpiresIn != 50*time.Minute {
		t.Errorf("oldest %v expires in %v, want 10m and 50m", v.OldestPending, v.ExpiresIn)
	}
}
