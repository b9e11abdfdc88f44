package replay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// dlqFixture seeds a kfake DLQ for connector "c" with dead letters: for
// each hour h of 0..5 before base, one temperature and one touch event
// ingested then. It returns the config and a client to read the main topic.
func dlqFixture(t *testing.T, base time.Time) (Config, *kgo.Client) {
	t.Helper()
	topics := pipeline.Topics{Prefix: "t"}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics.DLQ("c"), topics.Connector("c")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	prod, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var recs []*kgo.Record
	for h := range 6 {
		for _, typ := range []string{"temperature", "touch"} {
			m := pipeline.Meta{IngestTime: base.Add(-time.Duration(h) * time.Hour), EventID: fmt.Sprintf("%s-%d", typ, h), EventType: typ, Attempts: 3}
			recs = append(recs, m.Record(topics.DLQ("c"), []byte(m.EventID), []byte(`{"event":{}}`), "expired"))
		}
	}
	if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	read, err := kc.NewClient(kgo.ConsumeTopics(topics.Connector("c")), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	return Config{Connector: "c", Topics: topics, Kafka: kc, Idle: 10 * time.Second}, read
}

// readIDs polls the main topic until it holds n records and returns their
// event ids; it fails if more than n arrive within a short grace.
func readIDs(t *testing.T, cl *kgo.Client, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	total := 0
	for total < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("main topic has %d records, want %d", total, n)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[pipeline.ReadMeta(r).EventID]++
			total++
		})
	}
	return got
}

func TestReplaySelection(t *testing.T) {
	base := time.Now().Truncate(time.Millisecond)
	tests := []struct {
		name   string
		sel    Selection
		want   []string
		byType map[string]int
	}{
		{"event type", Selection{EventTypes: []string{"touch"}}, []string{"touch-0", "touch-1", "touch-2", "touch-3", "touch-4", "touch-5"}, map[string]int{"touch": 6}},
		{"since", Selection{Since: base.Add(-90 * time.Minute)}, []string{"temperature-0", "temperature-1", "touch-0", "touch-1"}, map[string]int{"temperature": 2, "touch": 2}},
		{"until", Selection{Until: base.Add(-210 * time.Minute)}, []string{"temperature-4", "temperature-5", "touch-4", "touch-5"}, map[string]int{"temperature": 2, "touch": 2}},
		{"window and type", Selection{Since: base.Add(-3 * time.Hour), Until: base.Add(-time.Hour), EventTypes: []string{"temperature"}},
			[]string{"temperature-2", "temperature-3"}, map[string]int{"temperature": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, read := dlqFixture(t, base)
			cfg.Selection = tt.sel
			dry := cfg
			dry.DryRun = true
			res, err := Replay(context.Background(), dry)
			if err != nil || res.Replayed != len(tt.want) || !res.DryRun || fmt.Sprint(res.ByType) != fmt.Sprint(tt.byType) {
				t.Fatalf("dry run: %+v, %v; want %d replayed, by type %v", res, err, len(tt.want), tt.byType)
			}
			res, err = Replay(context.Background(), cfg)
			if err != nil || res.Replayed != len(tt.want) || res.Skipped+res.Replayed > 12 {
				t.Fatalf("replay: %+v, %v; want %d replayed", res, err, len(tt.want))
			}
			got := readIDs(t, read, len(tt.want))
			for _, id := range tt.want {
				if got[id] != 1 {
					t.Errorf("%s copied %d times, want once (dry run must copy nothing); got %v", id, got[id], got)
				}
			}
		})
	}
}

// A copy gets a fresh ingest time and no attempts; its id and type stay.
func TestReplaySelectionFreshMeta(t *testing.T) {
	base := time.Now().Add(-time.Hour)
	cfg, read := dlqFixture(t, base)
	cfg.Selection = Selection{EventTypes: []string{"temperature"}, Since: base.Add(-time.Minute)}
	before := time.Now().Truncate(time.Millisecond)
	if res, err := Replay(context.Background(), cfg); err != nil || res.Replayed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs := read.PollFetches(ctx).Records()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	m := pipeline.ReadMeta(recs[0])
	if m.EventID != "temperature-0" || m.EventType != "temperature" || m.Attempts != 0 || m.IngestTime.Before(before) {
		t.Errorf("copy meta %+v", m)
	}
}

func TestSelectionCheckAndParse(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := (Selection{EventTypes: []string{"temprature"}}).Check(); err == nil {
		t.Error("unknown event type accepted")
	}
	if err := (Selection{Since: now, Until: now}).Check(); err == nil {
		t.Error("empty window accepted")
	}
	for in, want := range map[string]time.Time{
		"2026-11-25T10:00:00Z": time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		"90m":                  now.Add(-90 * time.Minute),
	} {
		if got, err := ParseTime(in, now); err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "-5m", "2026-11-25"} {
		if _, err := ParseTime(in, now); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}

// Without a selection, a dry run counts every dead letter and commits
// nothing, so the real replay that follows still copies them all, once.
func TestReplayAllDryRunThenReplay(t *testing.T) {
	cfg, read := dlqFixture(t, time.Now())
	dry := cfg
	dry.DryRun = true
	if res, err := Replay(context.Background(), dry); err != nil || res.Replayed != 12 || res.ByType["touch"] != 6 {
		t.Fatalf("dry run: %+v, %v; want 12, 6 touch", res, err)
	}
	if res, err := Replay(context.Background(), cfg); err != nil || res.Replayed != 12 {
		t.Fatalf("replay: %+v, %v; want 12", res, err)
	}
	for id, n := range readIDs(t, read, 12) {
		if n != 1 {
			t.Errorf("%s copied %d times", id, n)
		}
	}
	if res, err := Replay(context.Background(), cfg); err != nil || res.Replayed != 0 {
		t.Fatalf("second replay: %+v, %v; want 0", res, err)
	}
}
