package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

// Config configures a process's Health.
type Config struct {
	// Connectors are the loaded connectors.
	Connectors []*pipeline.Connector
	// Store keeps the cluster-wide states; nil keeps them in this
	// process only (tests). With a store, gates admit nothing until Run
	// has seen the store read to its end.
	Store *Store
	// Metrics records states and time to loss; may be nil.
	Metrics *metrics.Metrics
	// Logger logs every state change; default slog.Default().
	Logger *slog.Logger
	// Partitions returns how many partitions a connector has over its
	// main topic and retry tiers, to compute this process's share of its
	// rate limit. Default 12 per topic.
	Partitions func(*pipeline.Connector) int
}

// Health holds every connector's Gate in one process and ties them to the
// state store, the metrics and the log. One Health serves a process; its
// methods are safe for concurrent use. Its Run is the one per-process
// timer that notices states that change with time (a throttle that ends)
// and publishes time to loss.
type Health struct {
	cfg     Config
	log     *slog.Logger
	states  []string   // the state names, for the state metric
	srcMu   sync.Mutex // guards sources: a consumer may call Reshare while stages are still added
	sources []StatsSource

	mu     sync.RWMutex // guards the fields below; Update changes them
	gates  map[string]*connectorHealth
	names  []string
	unheld bool // Run let the gates admit: new gates start unheld
}

// connectorHealth is one connector's gate and time-to-loss snapshot.
type connectorHealth struct {
	conn    *pipeline.Connector
	gate    *Gate
	metrics *metrics.ConnectorMetrics
	oldest  atomic.Int64 // unix ms of the oldest pending event's ingest; 0 = none
}

// New returns the Health of cfg.Connectors, every one ACTIVE (or
// USER_DISABLED by HCL) until the store says otherwise.
func New(cfg Config) *Health {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &Health{cfg: cfg, log: cfg.Logger, gates: make(map[string]*connectorHealth, len(cfg.Connectors))}
	for _, s := range States() {
		h.states = append(h.states, string(s))
	}
	for _, c := range cfg.Connectors {
		h.gates[c.Name] = h.newConnectorHealth(c)
		h.names = append(h.names, c.Name)
	}
	return h
}

// newConnectorHealth returns c's gate with its metrics, ACTIVE (or
// USER_DISABLED by HCL).
func (h *Health) newConnectorHealth(c *pipeline.Connector) *connectorHealth {
	ch := &connectorHealth{conn: c, metrics: h.cfg.Metrics.Connector(c.Name)}
	log := h.log.With("connector", c.Name)
	ch.gate = NewGate(GateConfig{
		Connector: c,
		Held:      h.cfg.Store != nil,
		OnChange: func(from, to Status) {
			ch.metrics.SetState(string(to.State), h.states)
			logChange(log, from, to)
		},
		OnSystemDisable: func(a Admin) { go h.persist(c.Name, a) },
	})
	ch.metrics.SetState(string(ch.gate.Status(time.Now()).State), h.states)
	ch.metrics.SetTimeToLoss(time.Time{}, c.Retry.MaxAge, time.Now())
	return ch
}

// logChange writes the one log line of a state change.
func logChange(log *slog.Logger, from, to Status) {
	args := []any{"from", from.State, "to", to.State}
	switch to.State {
	case StateCircuitOpen:
		args = append(args, "reopensAt", to.ReopensAt.UTC().Format(time.RFC3339Nano))
	case StateThrottled:
		args = append(args, "until", to.Until.UTC().Format(time.RFC3339Nano))
	case StateUserDisabled, StateSystemDisabled:
		args = append(args, "reason", to.Reason)
	}
	if to.State == StateActive {
		log.Info("connector state changed", args...)
		return
	}
	log.Warn("connector state changed", args...)
}

// persist writes a state the gate set itself, retrying until Kafka
// acknowledges it (for up to a minute): the other processes stop too.
func (h *Health) persist(name string, a Admin) {
	if h.cfg.Store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		err := h.cfg.Store.Set(ctx, name, a)
		if err == nil {
			return
		}
		h.log.Warn("cannot store the connector's state; retrying", "connector", name, "state", a.State, "err", err)
		_ = pipeline.Sleep(ctx, time.Second)
	}
}

// Gate returns the named connector's gate, nil for an unknown name or a
// nil Health.
func (h *Health) Gate(name string) *Gate {
	if h == nil {
		return nil
	}
	if ch := h.lookup(name); ch != nil {
		return ch.gate
	}
	return nil
}

// lookup returns the named connector's health, or nil.
func (h *Health) lookup(name string) *connectorHealth {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.gates[name]
}

// Apply applies a state read from the store; unknown connectors (declared
// in another process's config only) are ignored. It is the store's
// OnChange.
func (h *Health) Apply(name string, a Admin) {
	if ch := h.lookup(name); ch != nil {
		ch.gate.SetAdmin(a, time.Now())
	}
}

// SetAdmin sets a connector's cluster-wide state (USER_DISABLED or ACTIVE,
// from the API) through the store, and applies it here at once. The other
// processes apply it when they read it, within a second.
func (h *Health) SetAdmin(ctx context.Context, name string, a Admin) error {
	ch := h.lookup(name)
	if ch == nil {
		return fmt.Errorf("no connector named %q", name)
	}
	if a.At.IsZero() {
		a.At = time.Now().UTC()
	}
	if h.cfg.Store != nil {
		if err := h.cfg.Store.Set(ctx, name, a); err != nil {
			return err
		}
	}
	ch.gate.SetAdmin(a, time.Now())
	return nil
}
