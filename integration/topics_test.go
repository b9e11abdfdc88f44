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
// the retention of a topic that drifted. Once EnsureTopics returns, the
// broker describes every topic and lists all its partitions: nothing is
// polled for here.
func TestTopicsCreatedAndCorrected(t *testing.T) {
	e := newEnv(t)
	e.connector("c", `url = "http://127.0.0.1:1"
  retry {
    backoff = ["1s", "2s"]
  }`)
	conns, diags := config.LoadConnectors(e.dir, nil)
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
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
	waitRetention(t, adm, e.topics().Connector("c"), drift) // the broker applies it after answering
	if err := kafka.EnsureTopics(ctx, adm, specs, opts, log); err != nil {
		t.Fatal(err)
	}
	checkRetention(t, adm, want, 4)
}

// waitRetention polls until the broker describes topic with retention.ms
// ms, for 20 s at most.
func waitRetention(t *testing.T, adm *kadm.Client, topic, ms string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	have := ""
	for ctx.Err() == nil {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err == nil && len(rcs) == 1 && rcs[0].Err == nil {
			have = ""
			for _, c := range rcs[0].Configs {
				if c.Key == "retention.ms" && c.Value != nil {
					have = *c.Value
				}
			}
			if have == ms {
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	t.Fatalf("%s: retention.ms still %q after 20s, want %s", topic, have, ms)
}

// checkRetention checks, in one request each, that the broker describes
// every topic of want with its retention.ms and lists its partitions.
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
	if len(rcs) != len(names) {
		t.Errorf("described %d topics, want %d", len(rcs), len(names))
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			t.Errorf("describe %s: %v", rc.Name, rc.Err)
			continue
		}
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
	// WithAuthorizedOps bypasses the client's metadata cache, which may
	// still hold the "unknown topic" answers of before the topics existed.
	details, err := adm.ListTopics(kadm.WithAuthorizedOps(ctx), names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		d, ok := details[n]
		if !ok || d.Err != nil || len(d.Partitions) != partitions {
			t.Errorf("%s: listed %v, %d partitions (%v), want %d", n, ok, len(d.Partitions), d.Err, partitions)
		}
	}
}
