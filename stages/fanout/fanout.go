package fanout

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultMaxInFlight bounds the events fanout holds at once (read, with
// outputs not yet acknowledged).
const DefaultMaxInFlight = 10000

// Config configures the fanout stage.
type Config struct {
	// Connectors are the configured connectors; disabled ones are skipped.
	Connectors []*pipeline.Connector
	// Topics names the topics and the group.
	Topics pipeline.Topics
	// Kafka makes the stage's group client.
	Kafka kafka.Config
	// Producer writes the connector topics; shared by the process.
	Producer *kgo.Client
	// Metrics records events and outputs; may be nil.
	Metrics *metrics.Metrics
	// MaxInFlight bounds events in progress. Default DefaultMaxInFlight
	// divided by the number of enabled connectors, at least 16.
	MaxInFlight int
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Stage is the running fanout stage.
type Stage struct {
	consumer *kafka.Consumer
	targets  []target
	producer *kgo.Client
	metrics  *metrics.Metrics
	log      *slog.Logger
}

// target is a connector with what fanout needs of it, resolved once.
type target struct {
	conn     *pipeline.Connector
	topic    string
	renderer *pipeline.Renderer
	metrics  *metrics.ConnectorMetrics
}

// New returns the fanout stage for cfg.
func New(cfg Config) (*Stage, error) {
	s := &Stage{producer: cfg.Producer, metrics: cfg.Metrics, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, c := range cfg.Connectors {
		if c.Disabled {
			continue
		}
		s.targets = append(s.targets, target{
			conn:     c,
			topic:    cfg.Topics.Connector(c.Name),
			renderer: pipeline.NewRenderer(c.Labels),
			metrics:  cfg.Metrics.Connector(c.Name),
		})
	}
	if cfg.MaxInFlight <= 0 {
		// Bound the outputs in flight, not the events: an event to a
		// thousand connectors holds a thousand records.
		cfg.MaxInFlight = max(DefaultMaxInFlight/max(len(s.targets), 1), 100)
	}
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Kafka:       cfg.Kafka,
		Group:       cfg.Topics.FanoutGroup(),
		Topics:      []string{cfg.Topics.Events()},
		MaxInFlight: cfg.MaxInFlight,
		Handle:      s.handle,
		Logger:      s.log,
	})
	if err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	s.consumer = c
	return s, nil
}

// Ready reports whether the stage has joined its consumer group.
func (s *Stage) Ready() bool { return s.consumer.Joined() }

// Name returns "fanout".
func (s *Stage) Name() string { return "fanout" }

// Run fans out until ctx ends, then settles and commits (see
// kafka.Consumer.Run).
func (s *Stage) Run(ctx context.Context) error { return s.consumer.Run(ctx) }

// handle renders and writes one event's bodies, and returns nil once Kafka
// acknowledged all of them (kafka.ProduceAcked). The record is read with
// pipeline.DecodeEvent; one that is no envelope cannot become a webhook: it
// is logged, counted and skipped.
//
// handle runs on the consumer's executor goroutines and keeps its own frame
// small: the decoding and the logging live in functions that have returned
// before the produce, so that the stack the produce needs stays within what
// the executors have, rather than being grown and copied again after every
// garbage collection shrank it.
func (s *Stage) handle(ctx context.Context, r *kgo.Record) error {
	outs, owners, ok := s.render(r)
	if !ok {
		s.skip(r)
		return nil
	}
	if err := kafka.ProduceAcked(ctx, s.producer, s.log, outs...); err != nil {
		return err
	}
	for _, t := range owners {
		t.metrics.FannedOut()
	}
	return nil
}

// render decodes r and returns its record for each enabled connector that
// wants its type, with the targets they are for; false when r is no
// envelope.
func (s *Stage) render(r *kgo.Record) (outs []*kgo.Record, owners []*target, ok bool) {
	ev, ok := pipeline.DecodeEvent(r)
	if !ok {
		return nil, nil, false
	}
	s.metrics.FanoutRead(true)
	for i := range s.targets {
		t := &s.targets[i]
		if t.conn.Wants(ev.Meta.EventType) {
			outs = append(outs, ev.Record(t.topic, t.renderer))
			owners = append(owners, t)
		}
	}
	return outs, owners, true
}

// skip counts and logs a record that is no envelope.
func (s *Stage) skip(r *kgo.Record) {
	s.metrics.FanoutRead(false)
	s.log.Error("skipping undecodable event", "partition", r.Partition, "offset", r.Offset)
}
