package integration

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Start-up creates every topic a connector needs with ARCHITECTURE.md's
// retention (12 h, DLQ 7 d) and the asked partition count, and corrects
// the retention of a topic that drifted.
func TestTopicsCreatedAndCorrected(t *testing.T) {
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1"
  retry {
    backoff = ["1s", "2s"]
  }`)
	conns, _ := config.LoadConnectors(e.dir, nil)
	cl, err := e.kafka().NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	specs := e.topics().Specs(conns)
	opts := kafka.TopicOptions{Partitions: 4}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := kafka.EnsureTopics(ctx, adm, specs, opts, log); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		e.topics().Events():       "43200000",
		e.topics().Connector("c"): "43200000",
		e.topics().Retry("c", 0):  "43200000",
		e.topics().Retry("c", 1):  "43200000",
		e.topics().DLQ("c"):       "604800000",
	}
	checkRetention(t, adm, want, 4)

	drift := "1000"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &drift}}, e.topics().Connector("c")); err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureTopics(ctx, adm, specs, opts, log); err != nil {
		t.Fatal(err)
	}
	checkRetention(t, adm, want, 4)
}

func checkRetention(t *testing.T, adm *kadm.Client, want map[string]string, partitions int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	// A topic just created may be unknown to the broker's config
	// describer for a moment: ask again until every topic is known.
	var rcs kadm.ResourceConfigs
	var err error
	for {
		rcs, err = adm.DescribeTopicConfigs(ctx, names...)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(rcs, func(rc kadm.ResourceConfig) bool { return errors.Is(rc.Err, kerr.UnknownTopicOrPartition) }) || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond) // metadata of new topics spreads
	}
	for _, rc := range rcs {
		got := ""
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				got = *c.Value
			}
		}
		if got != want[rc.Name] {
			t.Errorf("%s: retention.ms %q, want %s (describe error: %v)", rc.Name, got, want[rc.Name], rc.Err)
		}
	}
	var details kadm.TopicDetails
	ready := func() bool {
		details, err = adm.ListTopics(ctx, names...)
		for _, d := range details {
			if d.Err != nil || len(d.Partitions) != partitions {
				return false
			}
		}
		return err == nil && len(details) == len(names)
	}
	for !ready() && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond) // metadata of new topics spreads
	}
	for _, d := range details {
		if len(d.Partitions) != partitions {
			t.Errorf("%s: %d partitions (%v), want %d", d.Topic, len(d.Partitions), d.Err, partitions)
		}
	}
}
