package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Config configures one replay.
type Config struct {
	// Connector names the connector whose DLQ is replayed.
	Connector string
	// Topics names the topics; the replay's consumer group is
	// <p>.replay.<name>, so a second replay does not repeat the first.
	Topics pipeline.Topics
	// Kafka says how to reach Kafka.
	Kafka kafka.Config
	// Logger logs failed writes, which are retried. Default slog.Default().
	Logger *slog.Logger
	// Idle ends the replay with an error when no record arrives for this
	// long although the DLQ's end was not reached. Default 30s.
	Idle time.Duration
	// Selection, when not empty, replays only the dead letters it matches,
	// read from the whole DLQ without the consumer group (see Replay).
	Selection Selection
	// DryRun counts what would be replayed and writes and commits nothing.
	DryRun bool
}

// Run is Replay returning only how many dead letters were replayed.
func Run(ctx context.Context, cfg Config) (int, error) {
	res, err := Replay(ctx, cfg)
	return res.Replayed, err
}

// Replay copies dead letters up to the DLQ's end as it was when Replay
// started, and returns what it replayed (also after an error: what was
// acknowledged until then).
//
// With an empty Selection it replays every dead letter the group
// <p>.replay.<name> has not yet replayed: the copies of each poll's dead
// letters and the group's offsets past them are committed in one Kafka
// transaction, so an interrupted replay resumes where it stopped and
// copies each dead letter exactly once. The dead letters stay in the DLQ
// (until its retention); the group's offsets mark them replayed.
//
// With a Selection it reads the DLQ from the first record that can match
// (by time) to its end, outside the group, and copies the matching ones,
// each poll's copies in one transaction (all visible or none); it commits
// no offsets: running it twice replays the same dead letters twice.
//
// Both read the DLQ read_committed, and write with the transactional id
// <p>.replay.<name>, so a replay fences a crashed or concurrent replay of
// the same connector.
func Replay(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Second
	}
	if err := cfg.Selection.Check(); err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	if !cfg.Selection.Empty() {
		return replaySelection(ctx, cfg)
	}
	dlq := cfg.Topics.DLQ(cfg.Connector)
	group := cfg.Topics.ReplayGroup(cfg.Connector)
	opts, err := cfg.Kafka.Options(append(append(readOpts(), txnOpts(cfg)...),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(dlq),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	defer sess.Close()
	left, err := remaining(ctx, kadm.NewClient(sess.Client()), group, dlq)
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	return copyUntil(ctx, sess, cfg, left, nil, func(recs []*kgo.Record) error {
		if cfg.DryRun {
			return nil
		}
		return copyInTxn(ctx, sess, cfg, recs)
	})
}

// poller is what copyUntil reads from: a client or a transact session.
type poller interface {
	PollFetches(ctx context.Context) kgo.Fetches
}

// remaining returns, per partition of the DLQ with records the group has
// not committed, the end offset to read up to.
func remaining(ctx context.Context, adm *kadm.Client, group, dlq string) (map[int32]int64, error) {
	ends, err := adm.ListEndOffsets(ctx, dlq)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", dlq, err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", dlq, err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		committed, err = nil, nil // the first replay: nothing committed yet
	}
	if err != nil {
		return nil, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	left := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) {
		at := int64(0)
		if c, ok := committed.Lookup(dlq, o.Partition); ok {
			at = c.At
		}
		if o.Offset > at {
			left[o.Partition] = o.Offset
		}
	})
	return left, nil
}

// copyUntil polls records until every partition in left reached its end,
// keeps those keep accepts (all when keep is nil) and hands each poll's to
// copyBatch, counting them once copyBatch returned nil.
func copyUntil(ctx context.Context, cl poller, cfg Config, left map[int32]int64, keep func(*kgo.Record) bool, copyBatch func([]*kgo.Record) error) (Result, error) {
	n := Result{DryRun: cfg.DryRun}
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, cfg.Idle)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if err := fetchError(fs); err != nil {
			return n, err
		}
		recs := fs.Records()
		if len(recs) == 0 {
			return n, fmt.Errorf("no record for %s, %d partition(s) not at their end", cfg.Idle, len(left))
		}
		picked, read := pick(recs, keep)
		if err := copyBatch(picked); err != nil {
			return n, err
		}
		n.add(picked, read)
		for _, r := range recs {
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		}
	}
	return n, nil
}

func fetchError(fs kgo.Fetches) error {
	var first error
	fs.EachError(func(t string, p int32, err error) {
		if first == nil && !errors.Is(err, context.DeadlineExceeded) {
			first = fmt.Errorf("fetch %s/%d: %w", t, p, err)
		}
	})
	return first
}

func (cfg Config) logger() *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return slog.Default()
}
