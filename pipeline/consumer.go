package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler does the work one record stands for. It returns nil once that
// work is acknowledged (delivered, or written to another topic and
// acknowledged by Kafka); only then may the record's offset be committed.
// It returns an error only when it gave up because ctx ended (revoke,
// partition loss, shutdown past the grace period); the offset then stays
// uncommitted and the record is read again by whoever owns the partition
// next. A Handler must therefore retry transient failures itself. Handlers
// run concurrently, many per partition.
type Handler func(ctx context.Context, r *kgo.Record) error

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	// Kafka makes the group client.
	Kafka KafkaConfig
	// Group is the consumer group.
	Group string
	// Topics are consumed by the group.
	Topics []string
	// MaxInFlight bounds the records read but not yet done, across all
	// partitions. When it is reached, fetching pauses. Default 1000.
	MaxInFlight int
	// DueAt, when set, returns when a record may be handled; records of a
	// partition are handled in order of offset, so a partition waits for
	// its head. Nil means at once.
	DueAt func(r *kgo.Record) time.Time
	// Handle does the work.
	Handle Handler
	// Grace is how long in-flight work may go on after a revoke or
	// shutdown before its context is cancelled. Default 15s.
	Grace time.Duration
	// Logger logs rebalances and commit errors. Default slog.Default().
	Logger *slog.Logger
}

// Consumer runs a consumer group whose records are handled concurrently,
// up to MaxInFlight at a time, and commits per partition only the
// contiguous prefix of offsets whose work is done. On revoke, in-flight
// work is given Grace to finish, then cancelled, and the done prefix is
// committed before the partition is released.
type Consumer struct {
	cfg ConsumerConfig
	cl  *kgo.Client
	log *slog.Logger

	mu    sync.Mutex // guards parts
	parts map[topicPartition]*partition

	pending  atomic.Int64 // records read and not yet done or dropped
	paused   atomic.Bool
	capacity chan struct{} // signalled when paused and pending fell low
}

type topicPartition struct {
	topic     string
	partition int32
}

// NewConsumer validates cfg and creates the group client. It does not
// contact Kafka until Run.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Group == "" || len(cfg.Topics) == 0 || cfg.Handle == nil {
		return nil, errors.New("consumer needs a group, topics and a handler")
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Consumer{
		cfg:      cfg,
		log:      cfg.Logger.With("group", cfg.Group),
		parts:    make(map[topicPartition]*partition),
		capacity: make(chan struct{}, 1),
	}
	cl, err := cfg.Kafka.NewClient(
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(time.Second),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
	)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	c.cl = cl
	return c, nil
}

// Run consumes until ctx ends, then stops reading, lets in-flight work
// finish (up to Grace), commits the done prefix of every partition, leaves
// the group and returns nil. It returns an error only for a fatal client
// error.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.cl.Close()
	go c.markLoop(ctx)
	err := c.pollLoop(ctx)
	c.release(c.takeAll(), true)
	return err
}

func (c *Consumer) pollLoop(ctx context.Context) error {
	limit := int64(c.cfg.MaxInFlight)
	for ctx.Err() == nil {
		free := limit - c.pending.Load()
		if free <= 0 {
			if !c.waitCapacity(ctx) {
				return nil
			}
			continue
		}
		fs := c.cl.PollRecords(ctx, int(free))
		if fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachPartition(c.dispatch)
	}
	return nil
}

// waitCapacity pauses fetching until half of MaxInFlight is free again,
// so that memory stays bounded however large the backlog is.
func (c *Consumer) waitCapacity(ctx context.Context) bool {
	c.paused.Store(true)
	c.cl.PauseFetchTopics(c.cfg.Topics...)
	defer func() {
		c.paused.Store(false)
		c.cl.ResumeFetchTopics(c.cfg.Topics...)
	}()
	for c.pending.Load() > int64(c.cfg.MaxInFlight/2) {
		select {
		case <-ctx.Done():
			return false
		case <-c.capacity:
		}
	}
	return true
}

// dispatch hands one fetched partition's records to its worker. Records of
// a partition revoked since the fetch are dropped: their offsets were not
// committed, so the new owner reads them.
func (c *Consumer) dispatch(ftp kgo.FetchTopicPartition) {
	if len(ftp.Records) == 0 {
		return
	}
	c.mu.Lock()
	p := c.parts[topicPartition{ftp.Topic, ftp.Partition}]
	if p != nil {
		c.pending.Add(int64(len(ftp.Records)))
		p.push(ftp.Records)
	}
	c.mu.Unlock()
}

// finished is called once for every pushed record, done or dropped.
func (c *Consumer) finished(n int64) {
	left := c.pending.Add(-n)
	if c.paused.Load() && left <= int64(c.cfg.MaxInFlight/2) {
		select {
		case c.capacity <- struct{}{}:
		default:
		}
	}
}
