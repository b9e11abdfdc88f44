package plan

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// Sample is the event types of the most recent events of the events topic.
type Sample struct {
	// N is how many events were counted (at most the number asked for).
	N int
	// ByType counts them per event type.
	ByType map[string]int
	// From and To are the append times of the oldest and newest counted.
	From, To time.Time
}

// Routed returns how many of the sampled events c would have routed, in
// total and per event type: none when c is disabled.
func (s Sample) Routed(c *pipeline.Connector) (int, map[string]int) {
	by := map[string]int{}
	total := 0
	for t, n := range s.ByType {
		if c.Wants(t) {
			by[t] = n
			total += n
		}
	}
	return total, by
}

// seen is one sampled event.
type seen struct {
	at  time.Time
	typ string
}

// SampleEvents reads the last n events of topic: from each partition at
// most its last n records, up to the end offsets read at the start, then
// keeps the n most recent by append time. It reads only headers' event
// types, never changes a committed offset, and gives up after timeout.
func SampleEvents(ctx context.Context, kc kafka.Config, topic string, n int, timeout time.Duration) (Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probe, err := kc.NewClient()
	if err != nil {
		return Sample{}, err
	}
	defer probe.Close()
	from, ends, err := lastOffsets(ctx, kadm.NewClient(probe), topic, int64(n))
	if err != nil || len(from) == 0 {
		return Sample{ByType: map[string]int{}}, err
	}
	cl, err := kc.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
	if err != nil {
		return Sample{}, err
	}
	defer cl.Close()
	var all []seen
	for len(ends) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return Sample{}, fmt.Errorf("reading %s: %w (%d partition(s) not read to the end)", topic, ctx.Err(), len(ends))
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			all = append(all, seen{r.Timestamp, pipeline.ReadMeta(r).EventType})
			if r.Offset+1 >= end {
				delete(ends, r.Partition)
			}
		})
	}
	return summarize(all, n), nil
}

// summarize keeps the n most recent of all and counts them by type.
func summarize(all []seen, n int) Sample {
	slices.SortFunc(all, func(a, b seen) int { return b.at.Compare(a.at) })
	if len(all) > n {
		all = all[:n]
	}
	s := Sample{N: len(all), ByType: map[string]int{}}
	for _, e := range all {
		s.ByType[e.typ]++
	}
	if len(all) > 0 {
		s.To, s.From = all[0].at, all[len(all)-1].at
	}
	return s
}

// lastOffsets returns, per non-empty partition, where its last n records
// start and its end offset.
func lastOffsets(ctx context.Context, adm *kadm.Client, topic string, n int64) (map[int32]kgo.Offset, map[int32]int64, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("start offsets of %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	from, left := map[int32]kgo.Offset{}, map[int32]int64{}
	ends.Each(func(e kadm.ListedOffset) {
		s, _ := starts.Lookup(topic, e.Partition)
		at := max(s.Offset, e.Offset-n)
		if at < e.Offset {
			from[e.Partition] = kgo.NewOffset().At(at)
			left[e.Partition] = e.Offset
		}
	})
	return from, left, nil
}
