package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Selection chooses dead letters by when their event was ingested and by
// event type. The zero Selection matches every dead letter.
type Selection struct {
	// Since, when not zero, keeps events ingested at or after it.
	Since time.Time
	// Until, when not zero, keeps events ingested before it.
	Until time.Time
	// EventTypes, when not empty, keeps only these event types.
	EventTypes []string
}

// Empty reports whether s matches every dead letter.
func (s Selection) Empty() bool {
	return s.Since.IsZero() && s.Until.IsZero() && len(s.EventTypes) == 0
}

// Check reports an unknown event type or an empty time range.
func (s Selection) Check() error {
	for _, t := range s.EventTypes {
		if !pipeline.KnownEventType(t) {
			return fmt.Errorf("unknown event type %q; the types are %s", t, strings.Join(pipeline.EventTypes(), ", "))
		}
	}
	if !s.Since.IsZero() && !s.Until.IsZero() && !s.Since.Before(s.Until) {
		return fmt.Errorf("since %s is not before until %s", s.Since.Format(time.RFC3339), s.Until.Format(time.RFC3339))
	}
	return nil
}

// Match reports whether a dead letter with meta m is selected. The time is
// the event's ingest time (hookpipe-ingest-ms), which a replay renews: a
// replayed event that dies again is selected by its replay time.
func (s Selection) Match(m pipeline.Meta) bool {
	switch {
	case !s.Since.IsZero() && m.IngestTime.Before(s.Since):
		return false
	case !s.Until.IsZero() && !m.IngestTime.Before(s.Until):
		return false
	case len(s.EventTypes) > 0 && !slices.Contains(s.EventTypes, m.EventType):
		return false
	}
	return true
}

// pick returns the dead letters of recs that keep accepts (all when keep
// is nil), and how many dead letters recs holds: transaction markers are
// neither.
func pick(recs []*kgo.Record, keep func(*kgo.Record) bool) (out []*kgo.Record, read int) {
	for _, r := range recs {
		if r.Attrs.IsControl() {
			continue
		}
		read++
		if keep == nil || keep(r) {
			out = append(out, r)
		}
	}
	return out, read
}

// Result says what a replay did, or would do in a dry run.
type Result struct {
	// Replayed counts the dead letters copied back (or, in a dry run,
	// that would be).
	Replayed int `json:"replayed"`
	// ByType counts Replayed per event type.
	ByType map[string]int `json:"byType"`
	// Skipped counts the dead letters read but not selected.
	Skipped int `json:"skipped"`
	// DryRun is true when nothing was written.
	DryRun bool `json:"dryRun"`
}

// add counts picked out of read records.
func (r *Result) add(picked []*kgo.Record, read int) {
	if r.ByType == nil {
		r.ByType = map[string]int{}
	}
	for _, rec := range picked {
		r.ByType[pipeline.ReadMeta(rec).EventType]++
	}
	r.Replayed += len(picked)
	r.Skipped += read - len(picked)
}

// ParseTime reads a --since or --until value: an RFC 3339 time, or a Go
// duration meaning that long before now ("90m" is now - 90 minutes).
func ParseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-25T10:00:00Z) nor a duration ago (90m, 6h)", s)
}

// replaySelection reads the DLQ outside any group, from the first offset
// whose DLQ time is at or after Since (an event is dead-lettered after it
// was ingested, so no earlier record can match) to the end offsets read at
// the start, and copies the records the selection matches, each poll's in
// one transaction.
func replaySelection(ctx context.Context, cfg Config) (Result, error) {
	dlq := cfg.Topics.DLQ(cfg.Connector)
	probe, err := cfg.Kafka.NewClient()
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	defer probe.Close()
	from, left, err := bounds(ctx, kadm.NewClient(probe), dlq, cfg.Selection.Since)
	if err != nil || len(left) == 0 {
		return Result{DryRun: cfg.DryRun, ByType: map[string]int{}}, err
	}
	cl, err := cfg.Kafka.NewClient(append(readOpts(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{dlq: from}))...)
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	defer cl.Close()
	prod, err := cfg.Kafka.NewClient(txnOpts(cfg)...)
	if err != nil {
		return Result{DryRun: cfg.DryRun}, err
	}
	defer prod.Close()
	ends := maps.Clone(left)
	keep := func(r *kgo.Record) bool {
		return r.Offset < ends[r.Partition] && cfg.Selection.Match(pipeline.ReadMeta(r))
	}
	return copyUntil(ctx, cl, cfg, left, keep, func(recs []*kgo.Record) error {
		if cfg.DryRun {
			return nil
		}
		if len(recs) == 0 {
			return nil
		}
		return writeInTxn(ctx, prod, cfg, recs)
	})
}

// bounds returns, for each partition of dlq with records to read, the
// offset to start at and the end offset to read up to.
func bounds(ctx context.Context, adm *kadm.Client, dlq string, since time.Time) (map[int32]kgo.Offset, map[int32]int64, error) {
	ends, err := adm.ListEndOffsets(ctx, dlq)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets of %s: %w", dlq, err)
	}
	var starts kadm.ListedOffsets
	if since.IsZero() {
		starts, err = adm.ListStartOffsets(ctx, dlq)
	} else {
		starts, err = adm.ListOffsetsAfterMilli(ctx, since.UnixMilli(), dlq)
	}
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets of %s: %w", dlq, err)
	}
	from, left := map[int32]kgo.Offset{}, map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		s, ok := starts.Lookup(dlq, e.Partition)
		if !ok || s.Offset < 0 || s.Offset >= e.Offset {
			return
		}
		from[e.Partition] = kgo.NewOffset().At(s.Offset)
		left[e.Partition] = e.Offset
	})
	if len(from) == 0 && len(ends) == 0 {
		return nil, nil, errors.New(dlq + ": no such topic")
	}
	return from, left, nil
}
