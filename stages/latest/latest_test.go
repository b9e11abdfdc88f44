package latest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

var topics = pipeline.Topics{Prefix: "t"}

func cluster(t *testing.T) kafka.Config {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics.Events(), topics.Connector("c")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return kafka.Config{Brokers: c.ListenAddrs()}
}

// event is an events record as another writer (not ingest) would store it.
func event(id, device, typ string, at, ingest time.Time, value int) *kgo.Record {
	env := pipeline.Envelope{
		Event: pipeline.Event{EventID: id, TargetName: "projects/p/devices/" + device, EventType: typ,
			Data: json.RawMessage(fmt.Sprintf(`{%q:{"value":%d}}`, typ, value)), Timestamp: at.UTC().Format(time.RFC3339Nano)},
		Labels:   map[string]string{"name": device, "room": "r"},
		Metadata: pipeline.Metadata{DeviceID: device, ProjectID: "p"},
	}
	v, _ := json.Marshal(env)
	m := pipeline.Meta{IngestTime: ingest, EventID: id, EventType: typ}
	return m.Record(topics.Events(), []byte(device), v, "")
}

func seed(t *testing.T, kc kafka.Config, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// runWriter runs the writer until the test ends.
func runWriter(t *testing.T, kc kafka.Config) (stop func()) {
	t.Helper()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The process creates <p>.latest before its stages start.
	if err := kafka.EnsureCompacted(context.Background(), kadm.NewClient(cl), topics.Latest(), kafka.TopicOptions{Partitions: 3}, slog.Default()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- New(Config{Topics: topics, Kafka: kc}).Run(ctx)
	}()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	}
	return stop
}

// waitKnown polls <p>.latest until key has event time want.
func waitKnown(t *testing.T, kc kafka.Config, key string, want time.Time) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		known, err := Known(context.Background(), kc, topics.Latest())
		if err == nil && known[key] == want.UnixMicro() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: event time %d, want %d (err %v)", key, known[key], want.UnixMicro(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An older event arriving after a newer one never replaces it, also after
// the writer restarts (it re-reads <p>.latest); a newer one does.
func TestWriterNewerWins(t *testing.T) {
	kc := cluster(t)
	now := time.Now().Truncate(time.Microsecond)
	stop := runWriter(t, kc)
	seed(t, kc, event("e2", "d1", "temperature", now, now, 2), event("e1", "d1", "temperature", now.Add(-time.Minute), now, 1))
	waitKnown(t, kc, "d1/temperature", now)
	stop()
	stop = runWriter(t, kc)
	defer stop()
	seed(t, kc, event("e0", "d1", "temperature", now.Add(-time.Hour), now, 0), event("e3", "d1", "touch", now, now, 3))
	waitKnown(t, kc, "d1/touch", now)
	var written []string
	if err := readAll(context.Background(), kc, topics.Latest(), func(r *kgo.Record) {
		written = append(written, pipeline.ReadMeta(r).EventID)
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(written) != "[e2 e3]" && fmt.Sprint(written) != "[e3 e2]" {
		t.Errorf("<p>.latest holds %v, want only e2 and e3: an older event was written", written)
	}
	n, err := Sync(context.Background(), kc, topics, conn("c", nil), DefaultWindow, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("sync: %d, %v; want 2", n, err)
	}
	got := readConnector(t, kc, 2)
	if got["e2"] == "" || got["e3"] == "" {
		t.Errorf("synced %v, want e2 (newest temperature) and e3", got)
	}
}

func conn(name string, events []string, labels ...string) *pipeline.Connector {
	u, _ := url.Parse("https://e.example")
	return &pipeline.Connector{Name: name, URL: u, Events: events, Labels: labels}
}

// readConnector reads n records of the connector topic: eventId → body.
func readConnector(t *testing.T, kc kafka.Config, n int) map[string]string {
	t.Helper()
	cl, err := kc.NewClient(kgo.ConsumeTopics(topics.Connector("c")), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := map[string]string{}
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("connector topic: %d records, want %d", len(got), n)
		}
		fs.EachRecord(func(r *kgo.Record) { got[pipeline.ReadMeta(r).EventID] = string(r.Value) })
	}
	return got
}

// Sync sends, for devices seen within the window only, the latest event of
// each type the connector wants, with its labels, the original eventId and
// a fresh ingest time.
func TestSyncSelection(t *testing.T) {
	kc := cluster(t)
	now := time.Now().Truncate(time.Microsecond)
	stop := runWriter(t, kc)
	defer stop()
	old := now.Add(-13 * time.Hour)
	seed(t, kc,
		event("a-t", "a", "temperature", now, now, 1),
		event("a-h", "a", "humidity", now.Add(-20*time.Hour), old, 2), // old, but device a was seen recently
		event("a-x", "a", "touch", now, now, 3),                       // not wanted by the connector
		event("b-t", "b", "temperature", old, old, 4),                 // device b not seen for 13 h
	)
	waitKnown(t, kc, "b/temperature", old)
	waitKnown(t, kc, "a/touch", now)
	before := time.Now().Truncate(time.Millisecond)
	n, err := Sync(context.Background(), kc, topics, conn("c", []string{"temperature", "humidity"}, "name"), DefaultWindow, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("sync: %d, %v; want 2 (a's temperature and humidity)", n, err)
	}
	got := readConnector(t, kc, 2)
	var body pipeline.Envelope
	if err := json.Unmarshal([]byte(got["a-h"]), &body); err != nil || body.Event.EventID != "a-h" || len(body.Labels) != 1 || body.Labels["name"] != "a" {
		t.Errorf("a-h body %s (%v): want the original eventId and only the name label", got["a-h"], err)
	}
	if got["a-t"] == "" {
		t.Errorf("synced %v, want a-t", got)
	}
	cl, _ := kc.NewClient(kgo.ConsumeTopics(topics.Connector("c")), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range cl.PollFetches(ctx).Records() {
		if m := pipeline.ReadMeta(r); m.IngestTime.Before(before) {
			t.Errorf("%s: ingest time %v is not fresh", m.EventID, m.IngestTime)
		}
	}
	if n, err := Sync(context.Background(), kc, topics, &pipeline.Connector{Name: "c", Disabled: true}, DefaultWindow, time.Now()); err != nil || n != 0 {
		t.Errorf("disabled connector: %d, %v; want 0", n, err)
	}
}

// A batch with several events of one device and type writes one value for
// it, the newest (wherever it is in the batch), and none for a key whose
// known value is newer than all of the batch's.
func TestWriterBatchWritesNewestPerKey(t *testing.T) {
	now := time.Now().Truncate(time.Microsecond)
	s := New(Config{Topics: topics})
	s.known = map[string]int64{"d2/temperature": now.UnixMicro()}
	recs := []*kgo.Record{
		event("e1", "d1", "temperature", now.Add(-2*time.Minute), now, 1),
		event("e2", "d1", "temperature", now, now, 2),
		event("e3", "d1", "temperature", now.Add(-time.Minute), now, 3),
		event("e4", "d1", "touch", now, now, 4),
		event("e5", "d2", "temperature", now.Add(-time.Second), now, 5),
	}
	var got []string
	for _, r := range s.newest(recs) {
		got = append(got, string(r.Key)+"="+pipeline.ReadMeta(r).EventID)
	}
	if want := "[d1/temperature=e2 d1/touch=e4]"; fmt.Sprint(got) != want {
		t.Errorf("written %v, want %s", got, want)
	}
	// The next batch starts afresh: a newer event of a written key is written.
	later := event("e6", "d1", "temperature", now.Add(time.Second), now, 6)
	if outs := s.newest([]*kgo.Record{later}); len(outs) != 1 || pipeline.ReadMeta(outs[0]).EventID != "e6" {
		t.Errorf("the next batch wrote %d records, want e6", len(outs))
	}
}
