package replay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

var topics = pipeline.Topics{Prefix: "r"}

// newBroker starts an embedded broker with connector c's main topic and
// DLQ, three partitions each.
func newBroker(t *testing.T) (*kfake.Cluster, kafka.Config) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics.Connector("c"), topics.DLQ("c")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, kafka.Config{Brokers: c.ListenAddrs()}
}

// deadLetters writes n dead letters, ids from+0 to from+n-1, as deliver
// writes them: old ingest time, attempts, last error and a DLQ reason.
func deadLetters(t *testing.T, kc kafka.Config, from, n int) {
	t.Helper()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		m := pipeline.Meta{IngestTime: time.Now().Add(-13 * time.Hour), EventID: fmt.Sprint("e", i), EventType: "touch", Attempts: 4, LastError: "503"}
		recs = append(recs, m.Record(topics.DLQ("c"), fmt.Append(nil, "d", i%5), fmt.Append(nil, `{"n":`, i, `}`), "expired"))
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func config(kc kafka.Config) Config {
	return Config{Connector: "c", Topics: topics, Kafka: kc, Idle: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// Every dead letter is copied to the main topic once, body and key
// unchanged, with a fresh ingest time and no attempts, error or reason; a
// second replay finds nothing, and a third only the letters that came
// after the first.
func TestReplayCopiesEachDeadLetterOnce(t *testing.T) {
	_, kc := newBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n, err := Run(ctx, config(kc)); n != 0 || err != nil {
		t.Fatalf("empty DLQ: %d, %v; want 0, nil", n, err)
	}
	deadLetters(t, kc, 0, 30)
	start := time.Now().Add(-time.Second)
	if n, err := Run(ctx, config(kc)); n != 30 || err != nil {
		t.Fatalf("replay: %d, %v; want 30", n, err)
	}
	seen := map[string]bool{}
	for _, r := range kafkatest.ReadN(t, kc.Brokers, 30, topics.Connector("c")) {
		m := pipeline.ReadMeta(r)
		var i int
		fmt.Sscan(strings.TrimPrefix(m.EventID, "e"), &i)
		if seen[m.EventID] || string(r.Value) != fmt.Sprint(`{"n":`, i, `}`) || string(r.Key) != fmt.Sprint("d", i%5) {
			t.Errorf("copy of %s: key %q value %s (seen before: %v)", m.EventID, r.Key, r.Value, seen[m.EventID])
		}
		seen[m.EventID] = true
		if m.IngestTime.Before(start) || m.Attempts != 0 || m.LastError != "" || m.EventType != "touch" {
			t.Errorf("copy of %s: meta %+v, want a fresh ingest time and no attempts", m.EventID, m)
		}
		for _, h := range r.Headers {
			if h.Key == pipeline.HeaderDLQReason {
				t.Errorf("copy of %s keeps the DLQ reason", m.EventID)
			}
		}
	}
	if n, err := Run(ctx, config(kc)); n != 0 || err != nil {
		t.Fatalf("second replay: %d, %v; want 0", n, err)
	}
	deadLetters(t, kc, 30, 7)
	if n, err := Run(ctx, config(kc)); n != 7 || err != nil {
		t.Fatalf("third replay: %d, %v; want the 7 new ones", n, err)
	}
	kafkatest.ReadN(t, kc.Brokers, 37, topics.Connector("c"))
}

// A replay that cannot write its copies commits nothing: it ends with an
// error (its transaction aborted), and the next replay copies every dead
// letter.
func TestReplayCommitsOnlyAcknowledgedCopies(t *testing.T) {
	c, kc := newBroker(t)
	deadLetters(t, kc, 0, 12)
	stop := kafkatest.RefuseProduce(c, kerr.InvalidRecord, -1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	n, err := Run(ctx, config(kc))
	cancel()
	if err == nil || n != 0 {
		t.Fatalf("replay while writes fail: %d, %v; want 0 and an error", n, err)
	}
	stop()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if n, err := Run(ctx, config(kc)); n != 12 || err != nil {
		t.Fatalf("replay after writes work again: %d, %v; want 12", n, err)
	}
	kafkatest.ReadN(t, kc.Brokers, 12, topics.Connector("c"))
}

// A selected replay whose write partly fails makes nothing of that batch
// visible: the first produce request is refused, the transaction aborts,
// and a read_committed reader of the main topic finds no copy; the next
// replay copies every selected dead letter once.
func TestReplaySelectionAllOrNothing(t *testing.T) {
	c, kc := newBroker(t)
	deadLetters(t, kc, 0, 12)
	cfg := config(kc)
	cfg.Selection = Selection{EventTypes: []string{"touch"}}
	stop := kafkatest.RefuseProduce(c, kerr.InvalidRecord, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := Replay(ctx, cfg); err == nil || res.Replayed != 0 {
		t.Fatalf("replay with a refused write: %+v, %v; want 0 and an error", res, err)
	}
	stop()
	if res, err := Replay(ctx, cfg); err != nil || res.Replayed != 12 {
		t.Fatalf("replay after writes work again: %+v, %v; want 12", res, err)
	}
	seen := map[string]int{}
	for _, r := range kafkatest.ReadN(t, kc.Brokers, 12, topics.Connector("c")) {
		seen[pipeline.ReadMeta(r).EventID]++
	}
	if len(seen) != 12 {
		t.Fatalf("main topic holds %d distinct copies, want 12 once each: %v", len(seen), seen)
	}
}
