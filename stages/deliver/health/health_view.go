package health

import (
	"context"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

// View is what the API shows of a connector's health.
type View struct {
	Status
	// OldestPending is the age of the oldest event this process has not
	// delivered yet; 0 when none.
	OldestPending time.Duration
	// ExpiresIn is the time left before that event reaches max_age.
	ExpiresIn time.Duration
}

// View returns the named connector's health at now; ok is false for an
// unknown name.
func (h *Health) View(name string, now time.Time) (View, bool) {
	ch := h.lookup(name)
	if ch == nil {
		return View{}, false
	}
	v := View{Status: ch.gate.Status(now)}
	v.OldestPending, v.ExpiresIn = metrics.TimeToLoss(ch.oldestTime(), ch.conn.Retry.MaxAge, now)
	return v, true
}

// SetOldestPending records the ingest time of the named connector's
// oldest pending event in this process (zero: none). The consumer calls it
// from its per-process loop.
func (h *Health) SetOldestPending(name string, ingest time.Time) {
	if ch := h.lookup(name); ch != nil {
		var ms int64
		if !ingest.IsZero() {
			ms = ingest.UnixMilli()
		}
		ch.oldest.Store(ms)
	}
}

func (ch *connectorHealth) oldestTime() time.Time {
	if ms := ch.oldest.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// Name returns "health", the name the runner shows.
func (h *Health) Name() string { return "health" }

// Run first lets the gates admit once the store has been read to its
// end. Then it is the per-process health timer: every second it lets each gate
// notice time-based changes (a throttle that ended, reported with its log
// line and metric) and publishes time to loss. It returns nil when ctx
// ends.
func (h *Health) Run(ctx context.Context) error {
	if h.cfg.Store != nil {
		if err := h.cfg.Store.WaitCaughtUp(ctx); err != nil {
			return nil // ctx ended
		}
		h.mu.Lock()
		h.unheld = true
		for _, name := range h.names {
			h.gates[name].gate.Unhold(time.Now())
		}
		h.mu.Unlock()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			h.Tick(now)
		}
	}
}
