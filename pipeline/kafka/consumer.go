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
// next. A Handler must therefore retry transient failures itself. A
// handler of a transactional consumer that moved its record with Move
// returns Move's ErrMoved: the offset is then committed with the move's
// transaction. Handlers run concurrently, many per partition.
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
	cfg     ConsumerConfig
	cl      *kgo.Client
	log     *slog.Logger
	lanes   map[string]*lane // by topic; guarded by mu
	routes  map[string]*lane // by route name; guarded by mu
	retired map[string]bool  // topics of removed routes; guarded by mu
	pool    workerPool
	slots   slotPool
	dirty   dirtyList
	gate    gate
	mu      sync.Mutex // guards parts
	parts   map[topicPartition]*partition
	joined  atomic.Bool // the group assigned this member at least once
	change  sync.Mutex  // serialises route changes
	fenced  error       // set by pollLoop when another member took our instance id

	// Of a transactional consumer only (see Move):
	mover    *mover
	commitMu sync.Mutex                           // one commit or transaction at a time
	unsent   map[string]map[int32]kgo.EpochOffset // a failed commit's offsets; guarded by commitMu
	failed   atomic.Pointer[error]                // a transaction's fatal error
	stopPoll context.CancelFunc                   // ends pollLoop on a fatal error
	stopped  <-chan struct{}                      // closed when Run's context ends
}

// Joined reports whether the consumer has joined its group (and been
// given its partitions, perhaps none) since it started: before that, new
// records wait for the join.
// A consumer without routes counts as joined: it has nothing to wait for.
func (c *Consumer) Joined() bool {
	if c.joined.Load() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.routes) == 0
}

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
		cfg:     cfg,
		log:     cfg.Logger.With("group", cfg.Group),
		lanes:   make(map[string]*lane),
		parts:   make(map[topicPartition]*partition),
		routes:  make(map[string]*lane),
		retired: make(map[string]bool),
	}
	c.pool.jobs = make(chan job)
	c.slots.max = int64(cfg.MaxInFlightTotal)
	c.slots.setReserve(len(cfg.Routes))
	c.gate.max = int64(cfg.MaxQueuedTotal)
	c.gate.room = make(chan struct{}, 1)
	var topics []string
	for i := range cfg.Routes {
		l, err := c.newLane(cfg.Routes[i])
		if err != nil {
			return nil, err
		}
		topics = append(topics, l.route.Topics...)
	}
	cl, err := cfg.Kafka.NewClient(c.clientOpts(topics)...)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Group, err)
	}
	c.cl = cl
	if err := c.newMover(); err != nil {
		cl.Close()
		return nil, err
	}
	return c, nil
}

func (c *Consumer) clientOpts(topics []string) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ConsumerGroup(c.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(c.fetchMaxBytes()),
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
	opts = append(opts, c.commitOpts()...)
	if id := c.cfg.Kafka.InstanceID; id != "" {
		opts = append(opts, kgo.InstanceID(id))
	}
	return opts
}

// fetchMaxBytes is the most one fetch returns: 8 MiB for one route, 32
// MiB for several, whose records are spread over many partitions (a
// broker's cost per fetch grows with the partitions it touches, so fewer,
// larger fetches deliver more per second). It is chosen by the routes
// the consumer starts with; routes added later do not change it.
func (c *Consumer) fetchMaxBytes() int32 {
	if len(c.cfg.Routes) > 1 {
		return 32 << 20
	}
	return 8 << 20
}

// Run consumes until ctx ends, then stops reading, lets in-flight work
// finish (up to Grace), commits the done prefix of every partition, leaves
// the group and returns nil. It returns an error when the member was
// fenced: another process joined the group with the same instance id, or
// another producer took its transactional id (its partitions are then
// that process's, and nothing more is committed).
func (c *Consumer) Run(ctx context.Context) error {
	defer c.cl.Close()
	if c.mover != nil {
		defer c.mover.txn.prod.Close()
	}
	if err := c.initTxn(ctx); err != nil {
		return err
	}
	c.stopped = ctx.Done()
	pctx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	c.stopPoll = stopPoll
	// A transactional consumer's moves are written by markLoop: it runs
	// until the in-flight work settled and the last commit was made.
	loopCtx, stopLoop := ctx, context.CancelFunc(func() {})
	if c.mover != nil {
		loopCtx, stopLoop = context.WithCancel(context.Background())
	}
	loopDone := make(chan struct{})
	go func() { c.markLoop(loopCtx); close(loopDone) }()
	c.pollLoop(pctx)
	failed := c.failure()
	c.release(c.takeAll(), c.cfg.Grace, c.fenced == nil && failed == nil)
	stopLoop()
	<-loopDone
	c.pool.close()
	return firstOf(c.fenced, failed)
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
