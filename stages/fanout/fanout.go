package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

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
// acknowledged all of them. A record written by ingest is spliced, not
// parsed (pipeline.ParseStored); any other record is decoded as an
// envelope. A record that is neither cannot become a webhook: it is
// logged, counted and skipped.
func (s *Stage) handle(ctx context.Context, r *kgo.Record) error {
	meta := pipeline.ReadMeta(r)
	render, ok := s.splicer(r, &meta)
	if !ok {
		s.metrics.FanoutRead(false)
		s.log.Error("skipping undecodable event", "partition", r.Partition, "offset", r.Offset)
		return nil
	}
	s.metrics.FanoutRead(true)
	headers := meta.Headers("")
	var outs []*kgo.Record
	var owners []*target
	for i := range s.targets {
		t := &s.targets[i]
		if !t.conn.Wants(meta.EventType) {
			continue
		}
		body := render(t.renderer, make([]byte, 0, len(r.Value)))
		outs = append(outs, &kgo.Record{Topic: t.topic, Key: r.Key, Value: body, Headers: headers})
		owners = append(owners, t)
	}
	if err := s.produceAll(ctx, outs); err != nil {
		return err
	}
	for _, t := range owners {
		t.metrics.FannedOut()
	}
	return nil
}

// splicer returns how to build a connector's body from r, filling meta's
// event id and type; false when r is no envelope.
func (s *Stage) splicer(r *kgo.Record, meta *pipeline.Meta) (func(*pipeline.Renderer, []byte) []byte, bool) {
	if sb, ok := pipeline.ParseStored(r); ok && meta.EventType != "" && meta.EventID != "" {
		return func(rd *pipeline.Renderer, dst []byte) []byte { return rd.Project(dst, &sb) }, true
	}
	var env pipeline.Envelope
	if err := json.Unmarshal(r.Value, &env); err != nil || env.Event.EventType == "" {
		return nil, false
	}
	meta.EventID, meta.EventType = env.Event.EventID, env.Event.EventType
	if len(r.Key) == 0 {
		r.Key = []byte(env.Metadata.DeviceID)
	}
	return func(rd *pipeline.Renderer, dst []byte) []byte { return rd.Append(dst, &env) }, true
}

// produceAll writes every record concurrently and waits until each is
// acknowledged, retrying failed ones until ctx ends.
func (s *Stage) produceAll(ctx context.Context, outs []*kgo.Record) error {
	if len(outs) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	failed := make([]error, len(outs))
	for i, out := range outs {
		wg.Add(1)
		s.producer.Produce(ctx, out, func(_ *kgo.Record, err error) {
			failed[i] = err
			wg.Done()
		})
	}
	wg.Wait()
	for i, err := range failed {
		if err == nil {
			continue
		}
		if err := kafka.ProduceAcked(ctx, s.producer, s.log, outs[i]); err != nil {
			return err
		}
	}
	return nil
}
