package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// ErrExpired is Wait's error when the record's deadline (its expiry)
// passed before the connector could send: it goes to the DLQ unsent.
var ErrExpired = errors.New("expired while the connector was not sending")

// GateConfig configures a Gate.
type GateConfig struct {
	// Connector is the connector guarded.
	Connector *pipeline.Connector
	// OnChange is called on every change of the State (not of its
	// details), under the gate's lock and in order: it must be quick and
	// must not call the Gate.
	OnChange func(from, to Status)
	// OnSystemDisable is called, outside the lock, once the gate has put
	// itself in SYSTEM_DISABLED (after a 410 or disable_after), so that
	// the cluster learns it (the store's writer).
	OnSystemDisable func(Admin)
}

// Ticket is the permission to send one request. Every admitted ticket
// must be given back to Done, exactly once.
type Ticket struct {
	ok, probe bool
}

// OK reports whether the request may be sent.
func (t Ticket) OK() bool { return t.ok }

// Gate decides when one connector may send in this process: it combines
// the runtime state (from the state store and HCL), throttling, the
// circuit breaker with its slow-start ramp, and the rate limit. All
// methods are safe for concurrent use; a per-connector lock guards them.
type Gate struct {
	cfg GateConfig
	lim *Limiter

	mu            sync.Mutex
	br            *breaker
	admin         Admin
	throttleUntil time.Time
	inFlight      int
	failingSince  time.Time // first attempt without a 2xx since the last 2xx
	last          Status    // the state last reported to OnChange
	waiters       int
	wake          chan struct{} // closed and replaced when a waiter may go on
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
		wake:  make(chan struct{}),
	}
	if c.Disabled {
		g.last = Status{State: StateUserDisabled, Reason: hclReason(c)}
	}
	return g
}

func hclReason(c *pipeline.Connector) string {
	return fmt.Sprintf("disabled = true in %s", c.File)
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
	case g.cfg.Connector.Disabled:
		return Status{State: StateUserDisabled, Reason: hclReason(g.cfg.Connector)}
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

// Try admits one request at now, or says when to try again: at retryAt
// when it is not zero, or when wake is closed (whichever comes first).
func (g *Gate) Try(now time.Time) (t Ticket, retryAt time.Time, wake <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.try(now, false)
}

// try is Try with g.mu held; wait registers the caller as a waiter.
func (g *Gate) try(now time.Time, wait bool) (Ticket, time.Time, <-chan struct{}) {
	s := g.observe(now)
	var retryAt time.Time
	switch s.State {
	case StateUserDisabled, StateSystemDisabled:
	case StateThrottled:
		retryAt = s.Until
	default:
		ok, probe := g.br.admit(now, g.inFlight)
		if !ok {
			if g.br.open && !g.br.probing {
				retryAt = g.br.reopensAt
			}
			break
		}
		if d := g.lim.delay(now); d > 0 {
			if probe {
				g.br.probing = false
			}
			retryAt = now.Add(d)
			break
		}
		g.inFlight++
		return Ticket{ok: true, probe: probe}, time.Time{}, nil
	}
	if wait {
		g.waiters++
	}
	return Ticket{}, retryAt, g.wake
}

// Wait blocks until a request is admitted and returns its ticket. It
// returns ErrExpired once deadline (not zero) has passed first, or
// ctx.Err() when ctx ends first.
func (g *Gate) Wait(ctx context.Context, deadline time.Time) (Ticket, error) {
	for {
		now := time.Now()
		g.mu.Lock()
		t, retryAt, wake := g.try(now, true)
		if t.ok {
			g.mu.Unlock()
			return t, nil
		}
		g.mu.Unlock()
		err := sleepUntil(ctx, now, earliest(retryAt, deadline), wake)
		g.mu.Lock()
		g.waiters--
		g.mu.Unlock()
		if err != nil {
			return Ticket{}, err
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return Ticket{}, ErrExpired
		}
	}
}

// earliest is the earlier of two times, a zero time meaning never.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// sleepUntil waits until at (never when zero), wake is closed, or ctx ends.
func sleepUntil(ctx context.Context, now, at time.Time, wake <-chan struct{}) error {
	var timer <-chan time.Time
	if !at.IsZero() {
		t := time.NewTimer(at.Sub(now))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-wake:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
