package latest

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// readAll calls fn for every record of topic, from each partition's start
// to its end offset as read first, outside any group. A missing topic has
// no records.
func readAll(ctx context.Context, kc kafka.Config, topic string, fn func(*kgo.Record)) error {
	probe, err := kc.NewClient()
	if err != nil {
		return err
	}
	defer probe.Close()
	from, ends, err := span(ctx, kadm.NewClient(probe), topic)
	if err != nil || len(from) == 0 {
		return err
	}
	cl, err := kc.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(ends) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("reading %s: %w", topic, ctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !kerr.IsRetriable(err) { // a topic just created may not be known everywhere yet
				ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			fn(r)
			if r.Offset+1 >= end {
				delete(ends, r.Partition)
			}
		})
	}
	return nil
}

// span returns each non-empty partition's start and end offsets.
func span(ctx context.Context, adm *kadm.Client, topic string) (map[int32]kgo.Offset, map[int32]int64, error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	from, left := map[int32]kgo.Offset{}, map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, e.Partition)
		if s.Offset < e.Offset {
			from[e.Partition] = kgo.NewOffset().At(s.Offset)
			left[e.Partition] = e.Offset
		}
	})
	return from, left, nil
}
