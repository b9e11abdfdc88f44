package latest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// DefaultWindow is how recently a device must have been seen (ingested)
// for :sync to send its latest events: 12 h, as DT.
const DefaultWindow = 12 * time.Hour

// syncBatch is how many records Sync writes per produce.
const syncBatch = 1000

// entry is the newest <p>.latest record of one key.
type entry struct {
	rec *kgo.Record
	at  int64 // event time, µs
}

// Sync writes to c's topic, for every device with an event ingested
// within window before now, the latest event of each type c wants: the
// body c's fanout would have written (its labels), with a fresh ingest
// time (so a new max_age window) and the original eventId, so it goes
// through c's filter, signing and retries. It returns how many it wrote,
// once Kafka acknowledged every one; after an error, how many were
// acknowledged before it. A disabled connector gets none.
func Sync(ctx context.Context, kc kafka.Config, topics pipeline.Topics, c *pipeline.Connector, window time.Duration, now time.Time) (int, error) {
	newest, seen, err := scan(ctx, kc, topics.Latest(), now.Add(-window))
	if err != nil {
		return 0, err
	}
	renderer := pipeline.NewRenderer(c.Labels)
	var batch []*kgo.Record
	n := 0
	cl, err := kc.NewClient()
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	for _, e := range newest {
		device, ok := deviceOf(e.rec)
		if !ok || !seen[device] {
			continue
		}
		ev, ok := pipeline.DecodeEvent(e.rec)
		if !ok || !c.Wants(ev.Meta.EventType) {
			continue
		}
		ev.Key = []byte(device)
		ev.Meta = pipeline.Meta{IngestTime: now, EventID: ev.Meta.EventID, EventType: ev.Meta.EventType}
		batch = append(batch, ev.Record(topics.Connector(c.Name), renderer))
		if len(batch) == syncBatch {
			if err := produce(ctx, cl, batch); err != nil {
				return n, err
			}
			n += len(batch)
			batch = batch[:0]
		}
	}
	if err := produce(ctx, cl, batch); err != nil {
		return n, err
	}
	return n + len(batch), nil
}

// scan reads <p>.latest and returns the newest record per key (the
// reader-side rule: a larger event time wins, then the later offset) and
// the devices with a record ingested at or after since.
func scan(ctx context.Context, kc kafka.Config, topic string, since time.Time) (map[string]entry, map[string]bool, error) {
	newest := map[string]entry{}
	seen := map[string]bool{}
	err := readAll(ctx, kc, topic, func(r *kgo.Record) {
		at, ok := eventTimeHeader(r)
		if !ok {
			return
		}
		if old, ok := newest[string(r.Key)]; !ok || at >= old.at {
			newest[string(r.Key)] = entry{rec: r, at: at}
		}
		if device, ok := deviceOf(r); ok && !pipeline.ReadMeta(r).IngestTime.Before(since) {
			seen[device] = true
		}
	})
	return newest, seen, err
}

// deviceOf is the deviceId part of a <p>.latest key.
func deviceOf(r *kgo.Record) (string, bool) {
	k := string(r.Key)
	for i := len(k) - 1; i > 0; i-- {
		if k[i] == '/' {
			return k[:i], true
		}
	}
	return "", false
}

// produce writes recs and waits for Kafka to acknowledge them all.
func produce(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := kafka.ProduceAcked(ctx, cl, slog.Default(), recs...); err != nil {
		return fmt.Errorf("write %s: %w", recs[0].Topic, err)
	}
	return nil
}
