package kafka

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
)

// The new group takes the old groups' committed offsets for partitions it
// has no commit for, keeps its own commits, and a second run copies
// nothing.
func TestAdoptOffsets(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := Config{Brokers: c.ListenAddrs()}.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	commit := func(group, topic string, p int32, at int64) {
		t.Helper()
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
		resp, err := adm.CommitOffsets(ctx, group, os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			t.Fatalf("commit %s: %v", group, err)
		}
	}
	commit("p.deliver.a", "a", 0, 10)
	commit("p.deliver.a", "a", 1, 11)
	commit("p.deliver.b", "b", 0, 20)
	commit("p.deliver", "a", 1, 99) // the new group's own commit wins
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := AdoptOffsets(ctx, adm, "p.deliver", []string{"p.deliver.a", "p.deliver.b", "p.deliver.none"}, log)
	if err != nil || n != 2 {
		t.Fatalf("adopted %d, %v; want 2", n, err)
	}
	got, err := adm.FetchOffsets(ctx, "p.deliver")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		topic string
		p     int32
		at    int64
	}{{"a", 0, 10}, {"a", 1, 99}, {"b", 0, 20}} {
		if o, ok := got.Lookup(w.topic, w.p); !ok || o.At != w.at {
			t.Errorf("%s/%d: committed %v (found %v), want %d", w.topic, w.p, o.At, ok, w.at)
		}
	}
	if n, err := AdoptOffsets(ctx, adm, "p.deliver", []string{"p.deliver.a", "p.deliver.b"}, log); err != nil || n != 0 {
		t.Errorf("second run adopted %d, %v; want 0", n, err)
	}
}
