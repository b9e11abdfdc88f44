package health

import (
	"fmt"
	"time"
)

// Done gives back an admitted ticket with the verdict of its request,
// received at now. A Throttled verdict stops the connector until
// v.Until; Gone, or attempts without a 2xx for longer than disable_after,
// put it in SYSTEM_DISABLED.
func (g *Gate) Done(t Ticket, v Verdict, now time.Time) {
	if !t.ok {
		return
	}
	g.mu.Lock()
	g.inFlight--
	g.br.record(now, v.Kind, t.probe)
	if v.Kind == Throttled && v.Until.After(g.throttleUntil) {
		g.throttleUntil = v.Until
		if g.br.open && g.br.reopensAt.Before(v.Until) {
			g.br.reopensAt = v.Until
		}
	}
	disabled := g.countHealth(now, v.Kind)
	g.observe(now)
	g.notify()
	g.mu.Unlock()
	if disabled != nil && g.cfg.OnSystemDisable != nil {
		g.cfg.OnSystemDisable(*disabled)
	}
}

// Release gives back an admitted ticket whose request was never sent
// (its context ended first). It counts for nothing.
func (g *Gate) Release(t Ticket) {
	if !t.ok {
		return
	}
	g.mu.Lock()
	g.inFlight--
	if t.probe {
		g.br.probing = false
	}
	g.notify()
	g.mu.Unlock()
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
	defer g.mu.Unlock()
	if a.State == "" {
		a.State = StateActive
	}
	if g.admin.Disabled() && !a.Disabled() {
		g.failingSince = time.Time{}
	}
	g.admin = a
	g.observe(now)
	g.notify()
}

// Admin returns the cluster-wide state this gate last applied.
func (g *Gate) Admin() Admin {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.admin
}

// notify wakes every waiter, if any; g.mu is held.
func (g *Gate) notify() {
	if g.waiters == 0 {
		return
	}
	close(g.wake)
	g.wake = make(chan struct{})
}
