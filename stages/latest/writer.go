package latest

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// fetchMaxBytes bounds one fetch of the writer: a batch is held until
// Kafka acknowledged its writes, so this bounds the writer's memory.
const fetchMaxBytes = 4 << 20

// Config configures the writer.
type Config struct {
	// Topics names <p>.events, <p>.latest and the group <p>.latest.
	Topics pipeline.Topics
	// Kafka makes the writer's client.
	Kafka kafka.Config
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Stage is the writer of <p>.latest. It runs in one goroutine; Run is
// called once.
type Stage struct {
	cfg      Config
	log      *slog.Logger
	known    map[string]int64 // deviceId/eventType → newest event time written (µs)
	slot     map[string]int   // deviceId/eventType → its record's index in the batch being written
	assigned atomic.Bool      // set by kgo on assignment: reload known before the next batch
}

// New returns the writer for cfg.
func New(cfg Config) *Stage {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Stage{cfg: cfg, log: log.With("stage", "latest")}
}

// Name returns "latest".
func (s *Stage) Name() string { return "latest" }

// Run ensures <p>.latest exists, compacted, then copies newer events until
// ctx ends. Each poll's batch is written and acknowledged by Kafka before
// its offsets are committed, and no rebalance happens in between
// (kgo.BlockRebalanceOnPoll), so one process writes a device's keys at a
// time. On every assignment the writer first re-reads <p>.latest, so it
// never replaces a value another process wrote with an older one.
func (s *Stage) Run(ctx context.Context) error {
	t := s.cfg.Topics
	cl, err := s.cfg.Kafka.NewClient(
		kgo.ConsumerGroup(t.LatestGroup()), kgo.ConsumeTopics(t.Events()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { s.assigned.Store(true) }),
		kgo.FetchMaxBytes(fetchMaxBytes), kgo.MaxConcurrentFetches(1),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), // ingest writes in transactions
	)
	if err != nil {
		return err
	}
	defer func() {
		cl.AllowRebalance() // a client blocking rebalances cannot leave its group
		cl.Close()
	}()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil // the batch in hand is not committed: the next owner reads it again
		}
		fs.EachError(func(t string, p int32, err error) { s.log.Warn("fetch", "topic", t, "partition", p, "err", err) })
		recs := fs.Records()
		for {
			err := s.batch(ctx, cl, recs)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			// A failure here is Kafka's and passing: keep the batch, re-read
			// what is known (some writes may have landed) and try again.
			s.log.Warn("writing latest values; retrying", "err", err)
			s.known = nil
			if !pipeline.Sleep(ctx, time.Second) {
				return nil
			}
		}
		cl.AllowRebalance()
	}
}

// batch writes the newer events of recs and commits recs once Kafka
// acknowledged the writes. On an error nothing is committed and the map
// must be reloaded (s.known = nil) before the batch is tried again.
func (s *Stage) batch(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	if s.assigned.Swap(false) || s.known == nil {
		known, err := Known(ctx, s.cfg.Kafka, s.cfg.Topics.Latest())
		if err != nil {
			return err
		}
		s.known = known
	}
	if len(recs) == 0 {
		return nil
	}
	outs := s.newest(recs)
	if len(outs) > 0 {
		if err := kafka.ProduceAcked(ctx, cl, s.log, outs...); err != nil {
			return fmt.Errorf("write %s: %w", s.cfg.Topics.Latest(), err)
		}
	}
	if err := cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
		// The writes are acknowledged; an uncommitted batch is only read
		// again (and skipped as not newer) by the next owner.
		s.log.Warn("commit", "err", err)
	}
	return nil
}

// newest returns the <p>.latest records of recs: per key, only the newest
// event of the batch, and only when it is newer than the one known. A
// compacted topic keeps one value per key, so writing the older events of
// a batch would only give Kafka more to write and compact.
func (s *Stage) newest(recs []*kgo.Record) []*kgo.Record {
	if s.slot == nil {
		s.slot = make(map[string]int)
	}
	defer clear(s.slot)
	var outs []*kgo.Record
	for _, r := range recs {
		out := s.newer(r)
		if out == nil {
			continue
		}
		if i, ok := s.slot[string(out.Key)]; ok {
			outs[i] = out // newer than the batch's earlier one: newer returned it
			continue
		}
		s.slot[string(out.Key)] = len(outs)
		outs = append(outs, out)
	}
	return outs
}

// newer returns the <p>.latest record for r when r's event is newer than
// the one known for its key, and records it as known; else nil.
func (s *Stage) newer(r *kgo.Record) *kgo.Record {
	meta := pipeline.ReadMeta(r)
	if len(r.Key) == 0 || meta.EventType == "" {
		return nil
	}
	at := EventTime(r.Value, meta.IngestTime)
	key := pipeline.LatestKey(string(r.Key), meta.EventType)
	if have, ok := s.known[key]; ok && have >= at {
		return nil
	}
	s.known[key] = at
	hs := append(r.Headers[:len(r.Headers):len(r.Headers)], kgo.RecordHeader{Key: pipeline.HeaderEventTime, Value: strconv.AppendInt(nil, at, 10)})
	return &kgo.Record{Topic: s.cfg.Topics.Latest(), Key: []byte(key), Value: r.Value, Headers: hs}
}

// Known reads <p>.latest and returns, per key, the newest event time in it.
func Known(ctx context.Context, kc kafka.Config, topic string) (map[string]int64, error) {
	known := map[string]int64{}
	err := readAll(ctx, kc, topic, func(r *kgo.Record) {
		if at, ok := eventTimeHeader(r); ok && at > known[string(r.Key)] {
			known[string(r.Key)] = at
		}
	})
	return known, err
}

// eventTimeHeader reads HeaderEventTime.
func eventTimeHeader(r *kgo.Record) (int64, bool) {
	for _, h := range r.Headers {
		if h.Key == pipeline.HeaderEventTime {
			n, err := strconv.ParseInt(string(h.Value), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
