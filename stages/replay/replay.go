package replay

import (
	"context"
	"errors"
	"fmt"
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
	// Idle ends the replay with an error when no record arrives for this
	// long although the DLQ's end was not reached. Default 30s.
	Idle time.Duration
}

// Run replays every dead letter up to the DLQ's end as it was when Run
// started, and returns how many it replayed. Each polled batch's copies on
// the main topic and the group's offsets past it are committed in one
// Kafka transaction (transactional id <p>.replay.<name>), and the DLQ is
// read with read_committed: an interrupted replay resumes where it stopped
// and copies every record exactly once. Two replays of one connector at
// once fence each other; the fenced one fails.
func Run(ctx context.Context, cfg Config) (int, error) {
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Second
	}
	dlq := cfg.Topics.DLQ(cfg.Connector)
	group := cfg.Topics.Prefix + ".replay." + cfg.Connector
	opts, err := cfg.Kafka.Options(
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(dlq),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), // a DLQ that ends in a transaction marker is still read to its end
		kgo.TransactionalID(group), kgo.TransactionTimeout(10*time.Second),
	)
	if err != nil {
		return 0, err
	}
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	left, err := remaining(ctx, kadm.NewClient(sess.Client()), group, dlq)
	if err != nil {
		return 0, err
	}
	return copyUntil(ctx, sess, cfg, left)
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

// copyUntil copies records until every partition in left reached its end.
func copyUntil(ctx context.Context, sess *kgo.GroupTransactSession, cfg Config, left map[int32]int64) (int, error) {
	n := 0
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, cfg.Idle)
		fs := sess.PollFetches(pctx)
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
		copied, committed, err := copyBatch(ctx, sess, cfg, recs)
		if err != nil {
			return n, err
		}
		if !committed {
			continue // aborted: the session rewound, the batch comes again
		}
		n += copied
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

// copyBatch writes recs (but transaction markers) to the main topic with
// a fresh ingest time and no attempts, and commits the copies and the
// offsets past recs in one transaction; committed is false when it was
// aborted.
func copyBatch(ctx context.Context, sess *kgo.GroupTransactSession, cfg Config, recs []*kgo.Record) (copied int, committed bool, err error) {
	now := time.Now()
	topic := cfg.Topics.Connector(cfg.Connector)
	if err := sess.Begin(); err != nil {
		return 0, false, fmt.Errorf("begin transaction: %w", err)
	}
	for _, r := range recs {
		if r.Attrs.IsControl() {
			continue
		}
		copied++
		m := pipeline.ReadMeta(r)
		fresh := pipeline.Meta{IngestTime: now, EventID: m.EventID, EventType: m.EventType}
		sess.Produce(ctx, &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: fresh.Headers("")}, nil)
	}
	committed, err = sess.End(context.WithoutCancel(ctx), kgo.TryCommit)
	if err != nil {
		return 0, false, fmt.Errorf("write to %s: %w", topic, err)
	}
	return copied, committed, nil
}
