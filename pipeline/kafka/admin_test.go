package kafka

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Each kind of topic gets its own partition count; a second run creates
// nothing and leaves the counts alone.
func TestEnsureTopicsPartitionsByKind(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics := pipeline.Topics{Prefix: "p"}
	var conns []*pipeline.Connector
	for _, name := range []string{"a", "b", "c"} {
		conns = append(conns, &pipeline.Connector{Name: name, Retry: pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff()}})
	}
	specs := topics.Specs(conns)
	opts := TopicOptions{Partitions: 4, ConnectorPartitions: 3, RetryPartitions: 1}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		if err := EnsureTopics(ctx, adm, specs, opts, log); err != nil {
			t.Fatal(err)
		}
	}
	details, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[pipeline.TopicKind]int{pipeline.EventsTopic: 4, pipeline.ConnectorTopic: 3, pipeline.RetryTopic: 1}
	for _, s := range specs {
		if got := len(details[s.Name].Partitions); got != want[s.Kind] {
			t.Errorf("%s: %d partitions, want %d", s.Name, got, want[s.Kind])
		}
	}
	if len(details) != len(specs) {
		t.Errorf("%d topics, want %d", len(details), len(specs))
	}
}

// A CreateTopics request stays under the KRaft limit of 10,000 metadata
// records (a topic record, a config record and one per partition).
func TestTopicsPerRequest(t *testing.T) {
	for _, p := range []int32{1, 3, 12, 10000} {
		n := topicsPerRequest(p)
		if n < 1 || n*(int(p)+2) > 10000 && n > 1 {
			t.Errorf("%d partitions: %d topics per request", p, n)
		}
	}
}
