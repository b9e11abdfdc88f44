package health

import (
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// GateConfig configures a Gate.
type GateConfig struct {
	// Connector is the connector guarded.
	Connector *pipeline.Connector
	// OnChange is called on every change of the State (not of its
	// details), under the gate's lock and in order: it must be quick and
	// must not call the Gate.
	OnChange func(from, to Status)
	// Held makes the gate admit nothing until Unhold: the state store
	// has not been read yet, and a connector disabled there must not send
	// in the meantime.
	Held bool
	// OnSystemDisable is called, outside the lock, once the gate has put
	// itself in SYSTEM_DISABLED (after a 410 or disable_after), so that
	// the cluster learns it (the store's writer).
	OnSystemDisable func(Admin)
}

// Gate decides when one connector may send in this process: it combines
// the runtime state (from the state store and HCL), throttling, the
// circuit breaker with its slow-start ramp, and the rate limit. All
// methods are safe for concurrent use; a per-connector lock guards them.
type Gate struct {
	cfg       GateConfig
	lim       *Limiter
	hclReason string // why HCL disables the connector; "" when it does not

	mu            sync.Mutex
	br            *breaker
	probe         *kgo.Record // the probe in flight, while br.probing
	admin         Admin
	held          bool // the store has not been read yet: admit nothing
	throttleUntil time.Time
	failingSince  time.Time // first attempt without a 2xx since the last 2xx
	last          Status    // the state last reported to OnChange
	wakes         []func()  // called when the gate may admit again
}

// NewGate returns an ACTIVE gate for cfg.Connector; a connector with
// disabled = true in HCL is USER_DISABLED whatever the store says.
func NewGate(cfg GateConfig) *Gate {
	c := cfg.Connector
	g := &Gate{
		cfg: cfg, lim: NewLimiter(c.RateLimit),
		br:    newBreaker(c.CircuitBreaker, c.MaxInFlight),
		admin: Admin{State: StateActive},
		last:  Status{State: StateActive},
		held:  cfg.Held,
	}
	if c.Disabled {
		g.hclReason = fmt.Sprintf("disabled = true in %s", c.File)
		g.last = Status{State: StateUserDisabled, Reason: g.hclReason}
	}
	return g
}

// Limiter returns the gate's rate limiter.
func (g *Gate) Limiter() *Limiter { return g.lim }

// Status returns the connector's state at now.
func (g *Gate) Status(now time.Time) Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.observe(now)
}

// status computes the state at now; g.mu is held.
func (g *Gate) status(now time.Time) Status {
	switch {
	case g.hclReason != "":
		return Status{State: StateUserDisabled, Reason: g.hclReason}
	case g.admin.Disabled():
		return Status{State: g.admin.State, Reason: g.admin.Reason}
	case now.Before(g.throttleUntil):
		return Status{State: StateThrottled, Until: g.throttleUntil}
	case g.br.open:
		return Status{State: StateCircuitOpen, ReopensAt: g.br.reopensAt}
	}
	return Status{State: StateActive}
}

// observe computes the state and reports a change; g.mu is held.
func (g *Gate) observe(now time.Time) Status {
	s := g.status(now)
	prev := g.last
	g.last = s
	if s.State != prev.State && g.cfg.OnChange != nil {
		g.cfg.OnChange(prev, s)
	}
	return s
}

// Admit reports whether r may be sent at now, inFlight being the
// requests of the connector already running in the caller's route. When
// it may not, retryAt (when not zero) says when to ask again; the gate
// also calls its wake functions (OnWake) when it may admit again. An
// admitted record must be given back to Done or Release exactly once.
func (g *Gate) Admit(r *kgo.Record, now time.Time, inFlight int) (ok bool, retryAt time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.observe(now)
	switch {
	case g.held || s.State == StateUserDisabled || s.State == StateSystemDisabled:
		return false, time.Time{}
	case s.State == StateThrottled:
		return false, s.Until
	}
	ok, probe := g.br.admit(now, inFlight)
	if !ok {
		if g.br.open && !g.br.probing {
			return false, g.br.reopensAt
		}
		return false, time.Time{}
	}
	if d := g.lim.delay(now); d > 0 {
		g.br.probing = g.br.probing && !probe
		return false, now.Add(d)
	}
	if probe {
		g.probe = r
	}
	return true, time.Time{}
}

// OnWake registers fn, called (outside the gate's lock) whenever the gate
// may admit what it refused: a state change, the end of a probe, and
// every answer while the slow-start ramp raises the in-flight limit.
func (g *Gate) OnWake(fn func()) {
	g.mu.Lock()
	g.wakes = append(g.wakes, fn)
	g.mu.Unlock()
}

// Unhold lets the gate admit: the store has been read.
func (g *Gate) Unhold(now time.Time) {
	g.mu.Lock()
	g.held = false
	g.observe(now)
	wakes := g.wakes
	g.mu.Unlock()
	callAll(wakes)
}

func callAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}
