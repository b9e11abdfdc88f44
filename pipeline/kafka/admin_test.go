package kafka

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// refuseDescribe makes the broker answer the next n DescribeConfigs
// requests (every one when n < 0) with UNKNOWN_TOPIC_OR_PARTITION for
// topic, as a broker does for a topic its metadata does not show yet; it
// counts the DescribeConfigs requests in calls.
func refuseDescribe(c *kfake.Cluster, topic string, n int, calls *atomic.Int32) {
	c.ControlKey(int16(kmsg.DescribeConfigs), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		k := calls.Add(1)
		if n >= 0 && int(k) > n {
			return nil, nil, false
		}
		dreq := req.(*kmsg.DescribeConfigsRequest)
		resp := dreq.ResponseKind().(*kmsg.DescribeConfigsResponse)
		for _, r := range dreq.Resources {
			rr := kmsg.NewDescribeConfigsResponseResource()
			rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
			if r.ResourceName == topic {
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			resp.Resources = append(resp.Resources, rr)
		}
		return resp, nil, true
	})
}

func ensureSetup(t *testing.T) (*kfake.Cluster, *kadm.Client, []pipeline.TopicSpec) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := Config{Brokers: c.ListenAddrs()}.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	specs := []pipeline.TopicSpec{{Name: "t.events", Retention: 12 * time.Hour}, {Name: "t.dlq", Retention: 7 * 24 * time.Hour}}
	return c, kadm.NewClient(cl), specs
}

// EnsureTopics returns only once the broker describes every topic's
// configuration: while the broker still answers UNKNOWN_TOPIC_OR_PARTITION
// for a topic it created, EnsureTopics waits, and afterwards the topic
// has its retention.
func TestEnsureTopicsWaitsUntilDescribable(t *testing.T) {
	c, adm, specs := ensureSetup(t)
	var calls atomic.Int32
	refuseDescribe(c, "t.dlq", 3, &calls)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := EnsureTopics(ctx, adm, specs, TopicOptions{Partitions: 3}, log); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 4 {
		t.Errorf("EnsureTopics returned after %d DescribeConfigs requests; the first 3 were refused", n)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "t.dlq")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("t.dlq", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe t.dlq: %v %v", err, rc.Err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == "retention.ms" && (cfg.Value == nil || *cfg.Value != "604800000") {
			t.Errorf("t.dlq retention.ms %v, want 604800000", cfg.MaybeValue())
		}
	}
}

// When a topic stays invisible, EnsureTopics gives up after VisibleWithin
// with an error naming that topic and the broker's answer.
func TestEnsureTopicsNamesInvisibleTopics(t *testing.T) {
	c, adm, specs := ensureSetup(t)
	var calls atomic.Int32
	refuseDescribe(c, "t.dlq", -1, &calls)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	err := EnsureTopics(context.Background(), adm, specs, TopicOptions{Partitions: 3, VisibleWithin: 500 * time.Millisecond}, log)
	if err == nil {
		t.Fatal("EnsureTopics succeeded while the broker could not describe t.dlq")
	}
	msg := err.Error()
	for _, want := range []string{"topics not visible on the broker after 500ms: t.dlq ", "UNKNOWN_TOPIC_OR_PARTITION"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "t.events") {
		t.Errorf("error %q names t.events, which is visible", msg)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("EnsureTopics took %v to give up, bound 500ms", d)
	}
}

// A topic whose retention.ms drifted gets design.md's value back.
func TestEnsureTopicsCorrectsRetention(t *testing.T) {
	_, adm, specs := ensureSetup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := EnsureTopics(ctx, adm, specs, TopicOptions{Partitions: 3}, log); err != nil {
		t.Fatal(err)
	}
	drift := "1000"
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &drift}}, "t.events"); err != nil {
		t.Fatal(err)
	}
	if err := EnsureTopics(ctx, adm, specs, TopicOptions{Partitions: 3}, log); err != nil {
		t.Fatal(err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "t.events")
	if err != nil || len(rcs) != 1 {
		t.Fatalf("describe: %v %v", rcs, err)
	}
	if got := retentionOf(rcs[0]); got != "43200000" {
		t.Errorf("t.events retention.ms %q, want 43200000", got)
	}
}

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
