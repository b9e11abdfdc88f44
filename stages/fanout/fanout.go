package fanout

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultMaxInFlight bounds the outputs of one transaction: its events
// times the connectors that want them, roughly.
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
	// least 100.
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
	sess        *kgo.GroupTransactSession
	set         *connectorSet                // Run's goroutine only
	next        atomic.Pointer[connectorSet] // from SetConnectors, installed between transactions
	topics      pipeline.Topics
	maxInFlight int
	metrics     *metrics.Metrics
	log         *slog.Logger
	joined      atomic.Bool
	identity    string // group and instance id, for the fenced error
	// spacer keeps transactions kafka.TxnSpacing apart; Run's goroutine.
	spacer kafka.TxnSpacer
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
	s := &Stage{metrics: cfg.Metrics, log: cfg.Logger, topics: cfg.Topics, maxInFlight: cfg.MaxInFlight}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.set = s.newSet(cfg.Connectors, cfg.Topics, cfg.MaxInFlight)
	s.set.logged = nil // nothing to announce for the set the stage starts with
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
	return append(opts, kafka.TxnProducerOpts()...)
}

// Ready reports whether the stage has joined its consumer group.
func (s *Stage) Ready() bool { return s.joined.Load() }

// Name returns "fanout".
func (s *Stage) Name() string { return "fanout" }

// outputs appends r's bodies and the connectors they are for. A record
// that is no envelope cannot become a webhook: it is logged, counted and
// skipped; a transaction marker is skipped.
func (s *Stage) outputs(r *kgo.Record, outs []*kgo.Record, owners []*target) ([]*kgo.Record, []*target) {
	if r.Attrs.IsControl() {
		return outs, owners
	}
	o, t, ok := s.render(r)
	if !ok {
		s.skip(r)
		return outs, owners
	}
	return append(outs, o...), append(owners, t...)
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
	for i := range s.set.targets {
		t := &s.set.targets[i]
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
