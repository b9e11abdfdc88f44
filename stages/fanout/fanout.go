package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultMaxInFlight bounds the events fanout reads into one transaction.
const DefaultMaxInFlight = 10000

// Config configures the fanout stage.
type Config struct {
	// Connectors are the configured connectors; disabled ones are skipped.
	Connectors []*pipeline.Connector
	// Topics names the topics and the group.
	Topics pipeline.Topics
	// Kafka makes the stage's group client.
	Kafka kafka.Config
	// Metrics records events and outputs; may be nil.
	Metrics *metrics.Metrics
	// MaxInFlight bounds the events of one transaction. Default
	// DefaultMaxInFlight divided by the number of enabled connectors, at
	// least 16.
	MaxInFlight int
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Stage is the running fanout stage: it reads the events topic and writes
// each event's bodies to the connector topics exactly once — the bodies
// of the events read in one poll and the group's offset past them are
// committed in one Kafka transaction, so a crash or rebalance either
// commits both or neither (and the next owner redoes the batch).
type Stage struct {
	sess     *kgo.GroupTransactSession
	batch    int
	targets  []target
	metrics  *metrics.Metrics
	log      *slog.Logger
	joined   atomic.Bool
	identity string // group and instance id, for the fenced error
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
	s := &Stage{metrics: cfg.Metrics, log: cfg.Logger}
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
		// Bound the outputs of a transaction, not the events: an event
		// to a thousand connectors holds a thousand records.
		cfg.MaxInFlight = max(DefaultMaxInFlight/max(len(s.targets), 1), 16)
	}
	s.batch = cfg.MaxInFlight
	s.identity = fmt.Sprintf("group %s, instance id %q", cfg.Topics.FanoutGroup(), cfg.Kafka.InstanceID)
	opts, err := cfg.Kafka.Options(s.sessionOpts(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	if s.sess, err = kgo.NewGroupTransactSession(opts...); err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	return s, nil
}

// sessionOpts are the group and transaction options of the stage's client.
func (s *Stage) sessionOpts(cfg Config) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Topics.FanoutGroup()),
		kgo.ConsumeTopics(cfg.Topics.Events()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // so that the offsets committed pass ingest's transaction markers
		kgo.FetchMaxBytes(8 << 20),
		kgo.MaxBufferedRecords(100000),
		kgo.TransactionalID(cfg.Kafka.TransactionalID(cfg.Topics.Prefix + ".fanout")),
		kgo.TransactionTimeout(10 * time.Second),
		kgo.SessionTimeout(10 * time.Second),
		kgo.RebalanceTimeout(30 * time.Second),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { s.joined.Store(true) }),
	}
	if id := cfg.Kafka.InstanceID; id != "" {
		opts = append(opts, kgo.InstanceID(id))
	}
	return opts
}

// Ready reports whether the stage has joined its consumer group.
func (s *Stage) Ready() bool { return s.joined.Load() }

// Name returns "fanout".
func (s *Stage) Name() string { return "fanout" }

// outputs renders one event's bodies, and the connectors they are for. A
// record written by ingest is spliced, not parsed (pipeline.ParseStored);
// any other record is decoded as an envelope. A record that is neither
// cannot become a webhook: it is logged, counted and skipped (no outputs).
func (s *Stage) outputs(r *kgo.Record, outs []*kgo.Record, owners []*target) ([]*kgo.Record, []*target) {
	if r.Attrs.IsControl() {
		return outs, owners // a transaction marker: nothing to copy
	}
	meta := pipeline.ReadMeta(r)
	render, ok := s.splicer(r, &meta)
	if !ok {
		s.metrics.FanoutRead(false)
		s.log.Error("skipping undecodable event", "partition", r.Partition, "offset", r.Offset)
		return outs, owners
	}
	s.metrics.FanoutRead(true)
	headers := meta.Headers("")
	for i := range s.targets {
		t := &s.targets[i]
		if !t.conn.Wants(meta.EventType) {
			continue
		}
		body := render(t.renderer, make([]byte, 0, len(r.Value)))
		outs = append(outs, &kgo.Record{Topic: t.topic, Key: r.Key, Value: body, Headers: headers})
		owners = append(owners, t)
	}
	return outs, owners
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
