package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kerr"
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
	Kafka Config
	// Group is the consumer group.
	Group string
	// Topics are consumed by the group.
	Topics []string
	// MaxInFlight bounds the handlers running at once, across all
	// partitions. Default 1000.
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
	// Grace is how long in-flight work may go on after shutdown begins
	// before its context is cancelled. Default 15s.
	Grace time.Duration
	// RevokeGrace is the same for a rebalance, which keeps the whole
	// group waiting: work still running then is abandoned, and the next
	// owner does it again. Default 5s.
	RevokeGrace time.Duration
	// Logger logs rebalances and commit errors. Default slog.Default().
	Logger *slog.Logger
}

// Consumer runs a consumer group whose records are handled concurrently,
// up to MaxInFlight at a time over all partitions, each partition started
// in offset order. It commits per partition only the contiguous prefix of
// offsets whose work is done. On revoke, in-flight work is given RevokeGrace to
// finish, then cancelled, and the done prefix is committed before the
// partition is released. Partitions never share a lock on the hot path:
// each has its own queue and tracker; the in-flight bound is a semaphore.
type Consumer struct {
	cfg ConsumerConfig
	cl  *kgo.Client
	log *slog.Logger
	sem chan struct{} // one slot per running handler

	jobs    chan job     // to idle workers
	workers atomic.Int64 // started workers, at most MaxInFlight

	mu    sync.Mutex // guards parts
	parts map[topicPartition]*partition

	joined atomic.Bool // the group assigned this member at least once
	fenced error       // set by pollLoop when another member took our instance id
}

// Joined reports whether the consumer has joined its group (and been
// given its partitions, perhaps none) since it started: before that, new
// records wait for the join.
func (c *Consumer) Joined() bool { return c.joined.Load() }

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
		cfg.MaxInFlight = pipeline.DefaultMaxInFlight
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = min(cfg.MaxInFlight, 256)
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
	c := &Consumer{
		cfg:   cfg,
		log:   cfg.Logger.With("group", cfg.Group),
		sem:   make(chan struct{}, cfg.MaxInFlight),
		jobs:  make(chan job),
		parts: make(map[topicPartition]*partition),
	}
	opts := []kgo.Opt{
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(8 << 20),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(commitEvery), // markLoop commits sooner; this is its fallback
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // so that commits pass transaction markers
		// A crashed member holds its partitions until its session
		// expires, and a member that died while joining holds up the
		// next rebalance for the rebalance timeout: 10s and 30s rather
		// than Kafka's 45s and 60s. A revoke takes at most RevokeGrace.
		kgo.SessionTimeout(10 * time.Second),
		kgo.RebalanceTimeout(max(30*time.Second, cfg.RevokeGrace+20*time.Second)),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
	}
	if id := cfg.Kafka.InstanceID; id != "" {
		opts = append(opts, kgo.InstanceID(id))
	}
	cl, err := cfg.Kafka.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	c.cl = cl
	return c, nil
}

// Run consumes until ctx ends, then stops reading, lets in-flight work
// finish (up to Grace), commits the done prefix of every partition, leaves
// the group and returns nil. It returns an error when the member was
// fenced: another process joined the group with the same instance id (its
// partitions are then that process's, and nothing is committed).
func (c *Consumer) Run(ctx context.Context) error {
	defer c.cl.Close()
	go c.markLoop(ctx)
	c.pollLoop(ctx)
	c.release(c.takeAll(), c.cfg.Grace, c.fenced == nil)
	close(c.jobs)
	return c.fenced
}

// job is one record to handle.
type job struct {
	p *partition
	r *kgo.Record
}

// exec runs j on an idle worker, or on a new one while fewer than
// MaxInFlight exist. Workers live until Run returns, so the stacks they
// grew in HTTP clients and encoders are reused rather than grown anew for
// every record. The caller holds an in-flight slot, so when all workers
// exist one of them is about to be idle.
func (c *Consumer) exec(j job) {
	select {
	case c.jobs <- j:
		return
	default:
	}
	if c.workers.Add(1) <= int64(c.cfg.MaxInFlight) {
		go c.worker(j)
		return
	}
	c.workers.Add(-1)
	c.jobs <- j
}

func (c *Consumer) worker(j job) {
	for ok := true; ok; j, ok = <-c.jobs {
		j.p.handle(j.r)
	}
}

func (c *Consumer) pollLoop(ctx context.Context) {
	for ctx.Err() == nil {
		fs := c.cl.PollRecords(ctx, 10000)
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			if errors.Is(err, kerr.FencedInstanceID) && c.fenced == nil {
				c.fenced = fmt.Errorf("group %s: instance id %q: %w: another process joined with the same id; give each process its own --instance-id (or --data-dir)",
					c.cfg.Group, c.cfg.Kafka.InstanceID, err)
			}
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachPartition(c.dispatch)
		if c.fenced != nil {
			return
		}
	}
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
		p.push(ftp.Records)
	}
	c.mu.Unlock()
}

// setPaused pauses or resumes fetching one partition.
func (c *Consumer) setPaused(tp topicPartition, pause bool) {
	m := map[string][]int32{tp.topic: {tp.partition}}
	if pause {
		c.cl.PauseFetchPartitions(m)
	} else {
		c.cl.ResumeFetchPartitions(m)
	}
}
