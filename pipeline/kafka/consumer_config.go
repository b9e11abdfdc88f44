package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Route is one handler with its own limits, over a set of topics: a
// connector's deliver or retry work. The limits of one route never hold up
// another route's records.
type Route struct {
	// Name names the route in logs, e.g. the connector.
	Name string
	// Topics are the route's topics; a topic belongs to one route.
	Topics []string
	// MaxInFlight bounds the route's handlers running at once, across
	// its partitions. Default 1000.
	MaxInFlight int
	// MaxQueued bounds the records of one partition read but not yet
	// started (waiting for an in-flight slot or for DueAt). When it is
	// reached the partition's fetching pauses, and resumes at half, so
	// memory stays bounded however large the backlog is. Default
	// min(MaxInFlight, 256).
	MaxQueued int
	// DueAt, when set, returns when a record may be handled; records of a
	// partition are started in order of offset, so a partition waits for
	// its head. Nil means at once.
	DueAt func(r *kgo.Record) time.Time
	// Handle does the work.
	Handle Handler
	// Gate, when set, is asked before each record starts (after DueAt).
	// While it refuses, the route starts nothing but the records past
	// ExpiresAt, which start at once so that the handler can move them to
	// the DLQ on time; fetching pauses as the queues fill.
	Gate RouteGate
	// ExpiresAt, when set, returns when a record expires. Stats reports
	// the oldest pending record by it; a route with a Gate needs it.
	ExpiresAt func(r *kgo.Record) time.Time
	// KeyOrdered starts the records of one key (a device) in offset
	// order, one at a time: a record starts only once the record before
	// it with the same key is done (its Handler returned nil). Records
	// behind a busy key are held in their partition while other keys'
	// records start, up to MaxInFlight; a record whose Handler returned
	// RetryAt keeps its key busy until it is done. Records of one key
	// must be in one partition (keyed producers see to it). DueAt must
	// be nil.
	KeyOrdered bool
	// MaxHeld bounds the records of one partition held out of its queue:
	// behind a busy key, or waiting for the time a RetryAt gave. At the
	// bound the partition's fetching pauses; it resumes once both its
	// queue and its held records are down to half their bounds. Default
	// 4 × MaxQueued.
	MaxHeld int
}

// ConsumerConfig configures a Consumer: either Routes, or one route given
// by Topics, MaxInFlight, MaxQueued, DueAt and Handle.
type ConsumerConfig struct {
	// Kafka makes the group client.
	Kafka Config
	// Group is the consumer group.
	Group string
	// Routes are the topics consumed, each with its handler and limits.
	Routes []Route
	// Topics, MaxInFlight, MaxQueued, DueAt and Handle are the one route
	// of a consumer without Routes (see Route).
	Topics      []string
	MaxInFlight int
	MaxQueued   int
	DueAt       func(r *kgo.Record) time.Time
	Handle      Handler
	// MaxInFlightTotal bounds the handlers running at once over all
	// routes. When it is reached, each route busy or waiting may hold
	// only its share, MaxInFlightTotal / routes, of new slots, so that
	// busy routes cannot starve the others; a route refused by its Gate
	// does not count. Beyond its share a route never takes the last
	// MaxInFlightTotal / routes free slots, so a route with slow handlers
	// cannot hold them all. Default: 1024, or the largest route's
	// MaxInFlight when that is larger (the only route's when there is
	// one), so that the default never caps a route below its own
	// MaxInFlight.
	MaxInFlightTotal int
	// MaxQueuedTotal bounds the records read but not started, over the
	// partitions whose fetching is not paused (a paused partition holds
	// at most its route's MaxQueued): at the bound the consumer stops
	// polling until half of them started. Records whose head waits to be
	// due, and those of a route its Gate refuses, are not counted: they
	// cannot start soon, and must not stop polling for the other routes. Default 4 × MaxInFlightTotal.
	MaxQueuedTotal int
	// Grace is how long in-flight work may go on after shutdown begins
	// before its context is cancelled. Default 15s.
	Grace time.Duration
	// RevokeGrace is the same for a rebalance, which keeps the whole
	// group waiting: work still running then is abandoned, and the next
	// owner does it again. Default 5s.
	RevokeGrace time.Duration
	// OnAssignment, when set, is called after partitions were assigned,
	// revoked or lost, holding no lock of the consumer (it may call
	// Stats), from the group client's goroutine: it must be quick.
	OnAssignment func()
	// Logger logs rebalances and commit errors. Default slog.Default().
	Logger *slog.Logger
	// Dynamic allows a consumer with no routes yet: routes come and go
	// at run time (AddRoute, RemoveRoute, ReplaceRoute).
	Dynamic bool
	// TransactionalID, when set, makes the consumer transactional: its
	// handlers may call Move, whose records are written in transactions
	// with the id that also commit the group's offsets (see Move), and
	// every offset commit, plain or in a transaction, is made by the
	// consumer itself one at a time.
	TransactionalID string
}

// fill applies the defaults and checks the routes.
func (cfg *ConsumerConfig) fill() error {
	if len(cfg.Routes) == 0 && cfg.Handle != nil {
		cfg.Routes = []Route{{Name: cfg.Group, Topics: cfg.Topics, MaxInFlight: cfg.MaxInFlight,
			MaxQueued: cfg.MaxQueued, DueAt: cfg.DueAt, Handle: cfg.Handle}}
	}
	if cfg.Group == "" || (len(cfg.Routes) == 0 && !cfg.Dynamic) {
		return errors.New("consumer needs a group and at least one route")
	}
	most := 0
	for i := range cfg.Routes {
		if err := fillRoute(cfg.Group, &cfg.Routes[i]); err != nil {
			return err
		}
		most = max(most, cfg.Routes[i].MaxInFlight)
	}
	if cfg.MaxInFlightTotal <= 0 {
		cfg.MaxInFlightTotal = max(1024, most)
		if len(cfg.Routes) == 1 {
			cfg.MaxInFlightTotal = most
		}
	}
	if cfg.MaxQueuedTotal <= 0 {
		cfg.MaxQueuedTotal = 4 * cfg.MaxInFlightTotal
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 15 * time.Second
	}
	if cfg.RevokeGrace <= 0 {
		cfg.RevokeGrace = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// fillRoute applies a route's defaults and checks it.
func fillRoute(group string, r *Route) error {
	if len(r.Topics) == 0 || r.Handle == nil {
		return fmt.Errorf("consumer %s: route %q needs topics and a handler", group, r.Name)
	}
	if r.Gate != nil && r.ExpiresAt == nil {
		return fmt.Errorf("consumer %s: route %q has a gate but no ExpiresAt", group, r.Name)
	}
	if r.MaxInFlight <= 0 {
		r.MaxInFlight = pipeline.DefaultMaxInFlight
	}
	if r.MaxQueued <= 0 {
		r.MaxQueued = min(r.MaxInFlight, 256)
	}
	if r.MaxHeld <= 0 {
		r.MaxHeld = 4 * r.MaxQueued
	}
	if r.KeyOrdered && r.DueAt != nil {
		return fmt.Errorf("consumer %s: route %q is key-ordered and has a DueAt; it may have one or the other", group, r.Name)
	}
	return nil
}
