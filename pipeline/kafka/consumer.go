package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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

// Consumer runs a consumer group whose records are handled concurrently.
// Each record goes to the route of its topic; a route runs up to its
// MaxInFlight handlers at a time over all its partitions, each partition
// started in offset order, and the consumer runs up to MaxInFlightTotal.
// It commits per partition only the contiguous prefix of offsets whose
// work is done. On revoke, in-flight work is given RevokeGrace to finish,
// then cancelled, and the done prefix is committed before the partition
// is released.
//
// Nothing runs per route or per partition while it is idle: handlers run
// on a shared pool of workers started on demand, which exit after a few
// seconds without work. Locks are per route; the only consumer-wide state
// on the hot path is an atomic slot count.
type Consumer struct {
	cfg    ConsumerConfig
	cl     *kgo.Client
	log    *slog.Logger
	lanes  map[string]*lane // by topic
	pool   workerPool
	slots  slotPool
	dirty  dirtyList
	gate   gate
	mu     sync.Mutex // guards parts
	parts  map[topicPartition]*partition
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
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := &Consumer{
		cfg:   cfg,
		log:   cfg.Logger.With("group", cfg.Group),
		lanes: make(map[string]*lane),
		parts: make(map[topicPartition]*partition),
	}
	c.pool.jobs = make(chan job)
	c.slots.max = int64(cfg.MaxInFlightTotal)
	if len(cfg.Routes) > 1 {
		c.slots.reserve = int64(cfg.MaxInFlightTotal / len(cfg.Routes))
	}
	c.gate.max = int64(cfg.MaxQueuedTotal)
	c.gate.room = make(chan struct{}, 1)
	var topics []string
	for i := range cfg.Routes {
		l := &lane{c: c, route: cfg.Routes[i]}
		if l.route.Gate != nil {
			l.route.Gate.OnWake(l.kick)
		}
		for _, t := range l.route.Topics {
			if c.lanes[t] != nil {
				return nil, fmt.Errorf("consumer %s: topic %s is in two routes", cfg.Group, t)
			}
			c.lanes[t] = l
			topics = append(topics, t)
		}
	}
	cl, err := cfg.Kafka.NewClient(c.clientOpts(topics)...)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	c.cl = cl
	return c, nil
}

func (c *Consumer) clientOpts(topics []string) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(c.fetchMaxBytes()),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(commitEvery), // markLoop commits sooner; this is its fallback
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // so that commits pass transaction markers
		// A crashed member holds its partitions until its session
		// expires, and a member that died while joining holds up the
		// next rebalance for the rebalance timeout: 10s and 30s rather
		// than Kafka's 45s and 60s. A revoke takes at most RevokeGrace.
		kgo.SessionTimeout(10 * time.Second),
		kgo.RebalanceTimeout(max(30*time.Second, c.cfg.RevokeGrace+20*time.Second)),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
	}
	if id := c.cfg.Kafka.InstanceID; id != "" {
		opts = append(opts, kgo.InstanceID(id))
	}
	return opts
}

// fetchMaxBytes is the most one fetch returns: 8 MiB for one route, 32
// MiB for several, whose records are spread over many partitions (a
// broker's cost per fetch grows with the partitions it touches, so fewer,
// larger fetches deliver more per second).
func (c *Consumer) fetchMaxBytes() int32 {
	if len(c.cfg.Routes) > 1 {
		return 32 << 20
	}
	return 8 << 20
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
	c.pool.close()
	return c.fenced
}

func (c *Consumer) pollLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if !c.gate.wait(ctx) {
			return
		}
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

// dispatch hands one fetched partition's records to its route. Records of
// a partition revoked since the fetch are dropped: their offsets were not
// committed, so the new owner reads them.
func (c *Consumer) dispatch(ftp kgo.FetchTopicPartition) {
	if len(ftp.Records) == 0 {
		return
	}
	c.mu.Lock()
	p := c.parts[topicPartition{ftp.Topic, ftp.Partition}]
	c.mu.Unlock()
	if p != nil {
		p.push(ftp.Records)
	}
}

// setPaused pauses or resumes fetching one partition. It only takes the
// client's pause lock, so it may be called with a route's lock held.
func (c *Consumer) setPaused(tp topicPartition, pause bool) {
	m := map[string][]int32{tp.topic: {tp.partition}}
	if pause {
		c.cl.PauseFetchPartitions(m)
	} else {
		c.cl.ResumeFetchPartitions(m)
	}
}
