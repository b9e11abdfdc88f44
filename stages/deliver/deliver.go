package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	// Producer writes retry and DLQ records; shared by the process.
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
}

// Stage is a running deliver or retry stage for all connectors of a
// process.
type Stage struct {
	name     string
	consumer *kafka.Consumer
}

// NewDeliver returns the deliver stage: consumer group <p>.deliver over the
// main topic of every enabled connector, each connector with its own
// max_in_flight and queue bound.
func NewDeliver(cfg Config) (*Stage, error) {
	if cfg.Transports == nil {
		cfg.Transports = NewTransports()
	}
	var routes []kafka.Route
	for _, c := range enabled(cfg.Connectors) {
		w := newWorker(cfg, c)
		topic := cfg.Topics.Connector(c.Name)
		w.tiers[topic] = -1
		routes = append(routes, w.route(kafka.Route{Name: c.Name, Topics: []string{topic}, MaxInFlight: c.MaxInFlight, Handle: w.handle}))
	}
	return newStage("deliver", cfg, cfg.Topics.DeliverGroup(), routes)
}

// NewRetry returns the retry stage: consumer group <p>.retry over every
// enabled connector's retry tiers. A record of tier n is due Backoff[n]
// after it was appended, or when it expires, whichever is first; a
// connector's tiers share its max_in_flight.
func NewRetry(cfg Config) (*Stage, error) {
	if cfg.Transports == nil {
		cfg.Transports = NewTransports()
	}
	var routes []kafka.Route
	for _, c := range enabled(cfg.Connectors) {
		w := newWorker(cfg, c)
		var topics []string
		for n := range c.Retry.Backoff {
			t := cfg.Topics.Retry(c.Name, n)
			w.tiers[t] = n
			topics = append(topics, t)
		}
		routes = append(routes, w.route(kafka.Route{Name: c.Name, Topics: topics, MaxInFlight: c.MaxInFlight, DueAt: w.dueAt, Handle: w.handle}))
	}
	return newStage("retry", cfg, cfg.Topics.RetryGroup(), routes)
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

func newStage(name string, cfg Config, group string, routes []kafka.Route) (*Stage, error) {
	if len(routes) == 0 {
		return nil, fmt.Errorf("%s: %w", name, errors.New("no enabled connector"))
	}
	grace := time.Duration(0)
	for _, c := range enabled(cfg.Connectors) {
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
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Stage{name: name, consumer: c}, nil
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
