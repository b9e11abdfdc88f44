package health

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Done gives back an admitted record r with the verdict of its request,
// received at now. A Throttled verdict stops the connector until
// v.Until; Gone, or attempts without a 2xx for longer than disable_after,
// put it in SYSTEM_DISABLED.
func (g *Gate) Done(r *kgo.Record, v Verdict, now time.Time) {
	g.mu.Lock()
	probe := g.endProbe(r)
	before := g.last.State
	g.br.record(now, v.Kind, probe)
	if v.Kind == Throttled && v.Until.After(g.throttleUntil) {
		g.throttleUntil = v.Until
		if g.br.open && g.br.reopensAt.Before(v.Until) {
			g.br.reopensAt = v.Until
		}
	}
	disabled := g.countHealth(now, v.Kind)
	s := g.observe(now)
	var wakes []func()
	if probe || s.State != before || g.br.limit < g.br.maxInFlight {
		wakes = g.wakes
	}
	g.mu.Unlock()
	callAll(wakes)
	if disabled != nil && g.cfg.OnSystemDisable != nil {
		g.cfg.OnSystemDisable(*disabled)
	}
}

// Release gives back an admitted record that was never sent (it expired,
// or its context ended first). It counts for nothing.
func (g *Gate) Release(r *kgo.Record) {
	g.mu.Lock()
	probe := g.endProbe(r)
	g.mu.Unlock()
	if probe {
		callAll(g.wakeFuncs())
	}
}

// endProbe reports whether r is the probe in flight, and ends it. g.mu
// is held.
func (g *Gate) endProbe(r *kgo.Record) bool {
	if !g.br.probing || g.probe != r {
		return false
	}
	g.br.probing, g.probe = false, nil
	return true
}

func (g *Gate) wakeFuncs() []func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.wakes
}

// countHealth tracks disable_after and 410; it returns the new admin
// state when the connector just disabled itself. g.mu is held.
func (g *Gate) countHealth(now time.Time, k Kind) *Admin {
	if k == Success {
		g.failingSince = time.Time{}
		return nil
	}
	if g.failingSince.IsZero() {
		g.failingSince = now
	}
	if g.admin.Disabled() {
		return nil
	}
	var reason string
	switch after := g.cfg.Connector.DisableAfter; {
	case k == Gone:
		reason = "the endpoint answered 410 Gone"
	case after > 0 && now.Sub(g.failingSince) >= after:
		reason = fmt.Sprintf("no 2xx answer for %s (disable_after)", after)
	default:
		return nil
	}
	g.admin = Admin{State: StateSystemDisabled, Reason: reason, At: now}
	a := g.admin
	return &a
}

// SetAdmin applies the cluster-wide state read from the store at now.
// ACTIVE clears SYSTEM_DISABLED and restarts the disable_after clock.
func (g *Gate) SetAdmin(a Admin, now time.Time) {
	g.mu.Lock()
	if a.State == "" {
		a.State = StateActive
	}
	if g.admin.Disabled() && !a.Disabled() {
		g.failingSince = time.Time{}
	}
	g.admin = a
	g.observe(now)
	wakes := g.wakes
	g.mu.Unlock()
	callAll(wakes)
}
