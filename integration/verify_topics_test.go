package integration

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages"

	"github.com/twmb/franz-go/pkg/kadm"
)

// --no-create-topics only verifies: missing topics, a drifted retention
// and too few partitions are each named, nothing is created or altered,
// and a start with topics as hookpipe needs them goes through.
func TestNoCreateTopicsVerifiesOnly(t *testing.T) {
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1"
  retry {
    backoff = ["1s"]
  }`)
	conns, _ := config.LoadConnectors(e.dir, nil)
	start := func(partitions int32) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := stages.New(ctx, stages.Options{
			Connectors: conns, Kafka: e.kafka(), Topics: e.topics(), Listen: "127.0.0.1:0",
			TopicOptions: kafka.TopicOptions{Partitions: partitions}, NoCreateTopics: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err == nil { // started: stop at once
			done, stop := context.WithCancel(context.Background())
			stop()
			err = p.Run(done)
		}
		return err
	}
	err := start(3)
	if err == nil || !strings.Contains(err.Error(), "missing topic "+e.topics().Events()) || !strings.Contains(err.Error(), "missing topic "+e.topics().DLQ("c")+" (create it with 3 partitions, replication factor 1, retention.ms=604800000)") ||
		!strings.Contains(err.Error(), "topic "+e.topics().Latest()+" is missing: create it with cleanup.policy=compact") ||
		!strings.Contains(err.Error(), "topic "+e.topics().State()+" is missing: create it with cleanup.policy=compact") {
		t.Fatalf("no topics: %v, want each missing topic named", err)
	}
	if n := e.endOffsetsIfExists(e.topics().Events()); n >= 0 {
		t.Fatalf("--no-create-topics created %s", e.topics().Events())
	}

	cl, err := e.kafka().NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := kafka.EnsureTopics(ctx, adm, e.topics().Specs(conns), kafka.TopicOptions{Partitions: 3}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureCompactedTopics(ctx, adm, e.topics().Compacted(), kafka.TopicOptions{Partitions: 3}, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	waitRetention(t, adm, e.topics().Connector("c"), "43200000") // a new topic's config shows a moment after its creation
	setRetention(t, adm, e.topics().Connector("c"), "1000")
	err = start(6)
	for _, want := range []string{
		"topic " + e.topics().Connector("c") + " has retention.ms=1000, want 43200000",
		"topic " + e.topics().Events() + " has 3 partitions, fewer than --partitions 6",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("drifted topics: %v, want %q", err, want)
		}
	}
	if got := retention(t, adm, e.topics().Connector("c")); got != "1000" {
		t.Errorf("retention.ms of %s is %q after --no-create-topics, want the drifted 1000 left alone", e.topics().Connector("c"), got)
	}

	setRetention(t, adm, e.topics().Connector("c"), "43200000")
	if err := start(3); err != nil {
		t.Errorf("topics as hookpipe needs them: %v", err)
	}
}

func setRetention(t *testing.T, adm *kadm.Client, topic, ms string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &ms}}, topic)
	if err == nil {
		for _, r := range resp {
			err = errors.Join(err, r.Err)
		}
	}
	if err != nil {
		t.Fatalf("set retention.ms of %s: %v", topic, err)
	}
}

// retention returns topic's retention.ms as the broker describes it now.
func retention(t *testing.T, adm *kadm.Client, topic string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	for _, r := range rc {
		for _, c := range r.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				return *c.Value
			}
		}
	}
	return ""
}
