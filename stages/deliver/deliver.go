package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Config configures a process's deliver or retry stage, which serves all
// its enabled connectors with one consumer-group client.
type Config struct {
	// Connectors are the process's connectors; disabled ones are skipped.
	Connectors []*pipeline.Connector
	// Topics names the topics and groups.
	Topics pipeline.Topics
	// Kafka makes the stage's group client.
	Kafka kafka.Config
	// Producer writes the retry and DLQ records of a worker used without
	// its stage (unit tests). A stage writes them in its own transactions
	// (transactional id <p>.deliver.<instance> or <p>.retry.<instance>),
	// which also commit its group's offsets.
	Producer *kgo.Client
	// Metrics records outcomes per connector; may be nil.
	Metrics *metrics.Metrics
	// Version goes into the User-Agent: hookpipe/<version>.
	Version string
	// HTTPClient, when set, returns the client for a connector (tests use
	// it for custom TLS roots); else the client comes from Transports.
	HTTPClient func(*pipeline.Connector) *http.Client
	// Transports shares connection pools between connectors with the same
	// endpoint host and TLS settings; nil makes one for this stage. A
	// process passes one to both stages.
	Transports *Transports
	// MaxInFlightTotal bounds the requests of all connectors at once (see
	// kafka.ConsumerConfig). Default 1024, or the largest max_in_flight
	// when larger; a connector whose max_in_flight is above a total set
	// here is warned about when the stage starts.
	MaxInFlightTotal int
	// Health gives each connector's gate (circuit breaker, throttling,
	// runtime state, rate limit); nil sends without one.
	Health *health.Health
	// Logger; default slog.Default().
	Logger *slog.Logger

	mover *moverRef // set by newStage for the workers it builds
}

// moverRef holds a stage's transactional consumer for its workers: routes
// are built before the consumer that runs them exists, and again by Apply
// after. It is set before the consumer runs, so handlers read it without
// a lock.
type moverRef struct{ c *kafka.Consumer }

// Stage is a running deliver or retry stage for all connectors of a
// process.
type Stage struct {
	name     string
	consumer *kafka.Consumer
	cfg      Config
	build    func(cfg Config, c *pipeline.Connector, old *kafka.Route) kafka.Route
	mu       sync.Mutex        // serialises Apply
	routes   map[string]routed // the enabled connectors, by name
}

// NewDeliver returns the deliver stage: consumer group <p>.deliver over the
// main topic of every enabled connector, each connector with its own
// max_in_flight and queue bound. A connector ordered by device has a
// key-ordered route (records are keyed by deviceId): one request in flight
// per device, and a failure retried in place.
func NewDeliver(cfg Config) (*Stage, error) {
	return newStage("deliver", cfg, cfg.Topics.DeliverGroup(), deliverRoute)
}

// deliverRoute is connector c's route over its main topic.
func deliverRoute(cfg Config, c *pipeline.Connector, _ *kafka.Route) kafka.Route {
	w := newWorker(cfg, c)
	topic := cfg.Topics.Connector(c.Name)
	w.tiers[topic] = -1
	return w.route(kafka.Route{Name: c.Name, Topics: []string{topic}, MaxInFlight: c.MaxInFlight,
		KeyOrdered: c.OrderedByDevice(), Handle: w.handle})
}

// NewRetry returns the retry stage: consumer group <p>.retry over every
// enabled connector's retry tiers. A record of tier n is due Backoff[n]
// after it was appended, or when it expires, whichever is first; a
// connector's tiers share its max_in_flight.
func NewRetry(cfg Config) (*Stage, error) {
	return newStage("retry", cfg, cfg.Topics.RetryGroup(), retryRoute)
}

// retryRoute is connector c's route over its retry tiers. When a reload
// shortened c's backoff list, the tiers of old beyond it stay in the
// route, drained with the last tier's backoff, so that no record waiting
// in them is stranded.
func retryRoute(cfg Config, c *pipeline.Connector, old *kafka.Route) kafka.Route {
	w := newWorker(cfg, c)
	var topics []string
	for n := 0; ; n++ {
		t := cfg.Topics.Retry(c.Name, n)
		if n >= len(c.Retry.Backoff) && (old == nil || !slices.Contains(old.Topics, t)) {
			break
		}
		w.tiers[t] = n
		topics = append(topics, t)
	}
	return w.route(kafka.Route{Name: c.Name, Topics: topics, MaxInFlight: c.MaxInFlight, DueAt: w.dueAt, Handle: w.handle})
}

func enabled(cs []*pipeline.Connector) []*pipeline.Connector {
	var out []*pipeline.Connector
	for _, c := range cs {
		if !c.Disabled {
			out = append(out, c)
		}
	}
	return out
}

// newStage makes the stage's transactional consumer over the routes that
// build makes for each enabled connector; the workers move records through
// it (see moverRef), including those of routes built later by Apply.
func newStage(name string, cfg Config, group string, build func(Config, *pipeline.Connector, *kafka.Route) kafka.Route) (*Stage, error) {
	if cfg.Transports == nil {
		cfg.Transports = NewTransports()
	}
	cfg.mover = &moverRef{}
	s := &Stage{name: name, cfg: cfg, build: build, routes: map[string]routed{}}
	var routes []kafka.Route
	grace := time.Duration(0)
	for _, c := range enabled(cfg.Connectors) {
		r := build(cfg, c, nil)
		routes = append(routes, r)
		s.routes[c.Name] = routed{c, r}
		grace = max(grace, c.Timeout+5*time.Second)
		if t := cfg.MaxInFlightTotal; t > 0 && c.MaxInFlight > t {
			logger(cfg).Warn("max_in_flight is above --max-in-flight-total, which caps it", "stage", name,
				"connector", c.Name, "max_in_flight", c.MaxInFlight, "max_in_flight_total", t)
		}
	}
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Kafka:            cfg.Kafka,
		Group:            group,
		Routes:           routes,
		MaxInFlightTotal: cfg.MaxInFlightTotal,
		Grace:            grace,
		Logger:           logger(cfg),
		Dynamic:          true,
		TransactionalID:  cfg.Kafka.TransactionalID(cfg.Topics.Prefix + "." + name),
		OnAssignment:     cfg.Health.Reshare,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg.mover.c = c
	s.consumer = c
	return s, nil
}

func logger(cfg Config) *slog.Logger {
	if cfg.Logger == nil {
		return slog.Default()
	}
	return cfg.Logger
}

// Stats reports each connector's assigned partitions and oldest pending
// record in this stage (see kafka.Consumer.Stats).
func (s *Stage) Stats(fn func(connector string, partitions int, oldest time.Time)) {
	s.consumer.Stats(fn)
}

// Ready reports whether the stage has joined its consumer group.
func (s *Stage) Ready() bool { return s.consumer.Joined() }

// Name returns "deliver" or "retry".
func (s *Stage) Name() string { return s.name }

// Run delivers until ctx ends, then settles in-flight requests and commits
// (see kafka.Consumer.Run).
func (s *Stage) Run(ctx context.Context) error { return s.consumer.Run(ctx) }
