package health

import (
	"net/url"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

var t0 = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func testConnector(mod func(*pipeline.Connector)) *pipeline.Connector {
	u, _ := url.Parse("http://127.0.0.1:1/")
	c := &pipeline.Connector{
		Name: "c", URL: u, File: "c.hcl", Timeout: time.Second, MaxInFlight: 8,
		Retry:          pipeline.RetryPolicy{Backoff: []time.Duration{time.Second, time.Minute}, MaxAge: time.Hour},
		CircuitBreaker: pipeline.DefaultCircuitBreaker(), DisableAfter: pipeline.DefaultDisableAfter,
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// recorder collects the state changes a gate reports.
type recorder struct{ changes []State }

func (r *recorder) gate(c *pipeline.Connector) *Gate {
	return NewGate(GateConfig{Connector: c, OnChange: func(_, to Status) { r.changes = append(r.changes, to.State) }})
}

// send runs one request through g at now with verdict kind k; it fails
// the test when the gate refuses.
func send(t *testing.T, g *Gate, now time.Time, k Kind) {
	t.Helper()
	r := &kgo.Record{}
	if ok, _ := g.Admit(r, now, 0); !ok {
		t.Fatalf("at %v: gate refused, state %+v", now.Sub(t0), g.Status(now))
	}
	g.Done(r, Verdict{Kind: k}, now)
}

// The breaker stays closed below min_requests, opens at the failure
// ratio, admits exactly one probe at reopensAt, doubles the cooldown on
// every failed probe up to 5m, and closes on a 2xx probe.
func TestBreakerOpensProbesCloses(t *testing.T) {
	var rec recorder
	g := rec.gate(testConnector(nil))
	now := t0
	for i := 0; i < 19; i++ {
		send(t, g, now, Failure)
	}
	if s := g.Status(now); s.State != StateActive {
		t.Fatalf("after 19 failures (min_requests 20): %s", s.State)
	}
	send(t, g, now, Failure)
	s := g.Status(now)
	if s.State != StateCircuitOpen || !s.ReopensAt.Equal(now.Add(5*time.Second)) {
		t.Fatalf("after 20 failures: %+v, want CIRCUIT_OPEN reopening in 5s", s)
	}
	if ok, retryAt := g.Admit(&kgo.Record{}, now.Add(4*time.Second), 0); ok || !retryAt.Equal(s.ReopensAt) {
		t.Fatalf("before reopensAt: admitted %v, retry at %v", ok, retryAt)
	}
	wait := 5 * time.Second
	for _, want := range []time.Duration{10, 20, 40, 80, 160, 300, 300} {
		now = now.Add(wait)
		probe := &kgo.Record{}
		ok, _ := g.Admit(probe, now, 0)
		if second, _ := g.Admit(&kgo.Record{}, now, 1); !ok || second {
			t.Fatalf("at reopensAt: probe %v, second request %v; want exactly one", ok, second)
		}
		g.Done(probe, Verdict{Kind: Failure}, now)
		wait = want * time.Second
		if s := g.Status(now); !s.ReopensAt.Equal(now.Add(wait)) {
			t.Fatalf("after a failed probe: reopens in %v, want %v", s.ReopensAt.Sub(now), wait)
		}
	}
	now = now.Add(wait)
	send(t, g, now, Success)
	if s := g.Status(now); s.State != StateActive {
		t.Fatalf("after a 2xx probe: %s", s.State)
	}
	if want := []State{StateCircuitOpen, StateActive}; len(rec.changes) != 2 || rec.changes[0] != want[0] || rec.changes[1] != want[1] {
		t.Errorf("changes reported %v, want %v", rec.changes, want)
	}
}

// After closing, the in-flight limit starts at 1 and doubles per round
// trip of 2xx answers until max_in_flight.
func TestBreakerSlowStart(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) { c.CircuitBreaker.MinRequests = 1 })})
	send(t, g, t0, Failure)
	now := t0.Add(5 * time.Second)
	send(t, g, now, Success) // the probe
	var rounds []int
	for round := 0; round < 6; round++ {
		var running []*kgo.Record
		for {
			r := &kgo.Record{}
			if ok, _ := g.Admit(r, now, len(running)); !ok {
				break
			}
			running = append(running, r)
		}
		rounds = append(rounds, len(running))
		for _, r := range running {
			g.Done(r, Verdict{Kind: Success}, now)
		}
	}
	want := []int{1, 2, 4, 8, 8, 8}
	for i := range want {
		if rounds[i] != want[i] {
			t.Fatalf("requests admitted per round trip %v, want %v", rounds, want)
		}
	}
}

// The ratio counts only the window: failures older than window are
// forgotten, and successes keep the ratio under failure_ratio.
func TestBreakerWindowAndRatio(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(nil)})
	for i := 0; i < 11; i++ {
		send(t, g, t0, Success)
	}
	for i := 0; i < 10; i++ {
		send(t, g, t0, Failure)
	}
	if s := g.Status(t0); s.State != StateActive {
		t.Fatalf("10 of 21 failed: %s, want ACTIVE", s.State)
	}
	later := t0.Add(31 * time.Second)
	for i := 0; i < 19; i++ {
		send(t, g, later, Failure)
	}
	if s := g.Status(later); s.State != StateActive {
		t.Fatalf("19 failures in the window, older ones gone: %s, want ACTIVE", s.State)
	}
	send(t, g, later, Failure)
	if s := g.Status(later); s.State != StateCircuitOpen {
		t.Fatalf("20 failures in the window: %s, want CIRCUIT_OPEN", s.State)
	}
}

// circuit_breaker { disabled = true } never opens.
func TestBreakerDisabled(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) { c.CircuitBreaker.Disabled = true })})
	for i := 0; i < 100; i++ {
		send(t, g, t0, Failure)
	}
	if s := g.Status(t0); s.State != StateActive {
		t.Fatalf("state %s, want ACTIVE", s.State)
	}
}

// A throttled answer stops the whole connector until its time, then the
// connector is ACTIVE again; throttling does not count toward the breaker.
func TestGateThrottled(t *testing.T) {
	var rec recorder
	g := rec.gate(testConnector(nil))
	r := &kgo.Record{}
	g.Admit(r, t0, 0)
	until := t0.Add(3 * time.Second)
	g.Done(r, Verdict{Kind: Throttled, Until: until}, t0)
	s := g.Status(t0)
	if s.State != StateThrottled || !s.Until.Equal(until) {
		t.Fatalf("state %+v, want THROTTLED until +3s", s)
	}
	if ok, retryAt := g.Admit(&kgo.Record{}, t0.Add(time.Second), 0); ok || !retryAt.Equal(until) {
		t.Fatalf("while throttled: admitted %v, retry at %v", ok, retryAt)
	}
	send(t, g, until, Success)
	if want := []State{StateThrottled, StateActive}; len(rec.changes) != 2 || rec.changes[1] != want[1] {
		t.Errorf("changes %v, want %v", rec.changes, want)
	}
}

// A 410 disables the connector at once and tells the store; :enable
// (ACTIVE from the store) lets it send again.
func TestGateGoneThenEnable(t *testing.T) {
	var told []Admin
	g := NewGate(GateConfig{Connector: testConnector(nil), OnSystemDisable: func(a Admin) { told = append(told, a) }})
	send(t, g, t0, Gone)
	s := g.Status(t0)
	if s.State != StateSystemDisabled || s.Reason != "the endpoint answered 410 Gone" || len(told) != 1 || told[0].State != StateSystemDisabled {
		t.Fatalf("after 410: %+v, told the store %+v", s, told)
	}
	if ok, _ := g.Admit(&kgo.Record{}, t0.Add(time.Hour), 0); ok {
		t.Fatal("a SYSTEM_DISABLED connector was admitted")
	}
	g.SetAdmin(Admin{State: StateActive}, t0.Add(time.Hour))
	send(t, g, t0.Add(time.Hour), Success)
}

// disable_after without a 2xx disables the connector; a 2xx in between
// restarts the clock.
func TestGateDisableAfter(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) {
		c.DisableAfter = time.Minute
		c.CircuitBreaker.Disabled = true
	})})
	send(t, g, t0, Failure)
	send(t, g, t0.Add(50*time.Second), Success)
	send(t, g, t0.Add(70*time.Second), Failure)
	send(t, g, t0.Add(129*time.Second), Failure)
	if s := g.Status(t0.Add(129 * time.Second)); s.State != StateActive {
		t.Fatalf("59s without a 2xx: %s", s.State)
	}
	send(t, g, t0.Add(130*time.Second), Failure)
	if s := g.Status(t0.Add(130 * time.Second)); s.State != StateSystemDisabled || s.Reason != "no 2xx answer for 1m0s (disable_after)" {
		t.Fatalf("60s without a 2xx: %+v", s)
	}
}

// HCL's disabled = true wins over the store's ACTIVE.
func TestGateHCLDisabledWins(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) { c.Disabled = true })})
	g.SetAdmin(Admin{State: StateActive}, t0)
	if s := g.Status(t0); s.State != StateUserDisabled || s.Reason != "disabled = true in c.hcl" {
		t.Fatalf("state %+v", s)
	}
}

// A held gate (store not read yet) and a disabled one admit nothing and
// say no time; the wake functions run when either ends, and when a probe
// ends.
func TestGateWakes(t *testing.T) {
	g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) { c.CircuitBreaker.MinRequests = 1 }), Held: true})
	wakes := 0
	g.OnWake(func() { wakes++ })
	if ok, retryAt := g.Admit(&kgo.Record{}, t0, 0); ok || !retryAt.IsZero() {
		t.Fatalf("held: admitted %v retry at %v", ok, retryAt)
	}
	g.Unhold(t0)
	g.SetAdmin(Admin{State: StateUserDisabled}, t0)
	if ok, retryAt := g.Admit(&kgo.Record{}, t0, 0); ok || !retryAt.IsZero() {
		t.Fatalf("disabled: admitted %v retry at %v", ok, retryAt)
	}
	g.SetAdmin(Admin{State: StateActive}, t0)
	if wakes != 3 {
		t.Fatalf("%d wakes after unhold, disable, enable; want 3", wakes)
	}
	send(t, g, t0, Failure) // opens
	probe := &kgo.Record{}
	if ok, _ := g.Admit(probe, t0.Add(5*time.Second), 0); !ok {
		t.Fatal("no probe at reopensAt")
	}
	g.Release(probe) // never sent: the next record may probe
	if wakes != 5 {
		t.Fatalf("%d wakes, want 5 (state change, released probe)", wakes)
	}
	if ok, _ := g.Admit(&kgo.Record{}, t0.Add(5*time.Second), 0); !ok {
		t.Fatal("no probe after the first was released")
	}
}

// The rate limit admits rate_limit times the process's share per second,
// within 10 %, and says when the next token comes.
func TestGateRateLimit(t *testing.T) {
	for _, share := range []struct{ assigned, total int }{{12, 12}, {3, 12}} {
		g := NewGate(GateConfig{Connector: testConnector(func(c *pipeline.Connector) {
			c.RateLimit = 200
			c.MaxInFlight = 100000
		})})
		g.Limiter().SetShare(share.assigned, share.total)
		start := time.Now()
		n := 0
		for now := start; now.Before(start.Add(10 * time.Second)); now = now.Add(time.Millisecond) {
			r := &kgo.Record{}
			if ok, retryAt := g.Admit(r, now, 0); ok {
				g.Done(r, Verdict{Kind: Success}, now)
				n++
			} else if retryAt.IsZero() || !retryAt.After(now) {
				t.Fatalf("refused without a time to retry: %v", retryAt)
			}
		}
		want := 200 * 10 * float64(share.assigned) / float64(share.total)
		if float64(n) < 0.9*want || float64(n) > 1.1*want {
			t.Errorf("share %d/%d: %d requests in 10s, want %.0f ± 10%%", share.assigned, share.total, n, want)
		}
	}
}
