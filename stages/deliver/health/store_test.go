package health

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// startStore runs a store on the cluster until the test ends, sending
// every state it reads to the returned channel.
func startStore(t *testing.T, kc kafka.Config, topic string) (*Store, <-chan string) {
	t.Helper()
	prod, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	seen := make(chan string, 100)
	s, err := NewStore(StoreConfig{Kafka: kc, Topic: topic, Producer: prod, OnChange: func(name string, a Admin) {
		seen <- name + "=" + string(a.State)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := s.WaitCaughtUp(wctx); err != nil {
		t.Fatal(err)
	}
	return s, seen
}

// expect waits (with a deadline) for the store to report want.
func expect(t *testing.T, seen <-chan string, want string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-seen:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("the store never reported %s", want)
		}
	}
}

// A state written by one process is read by another within a second, and
// a store started later (a restart) reads every connector's last state;
// the topic is compacted.
func TestStoreAgreedAndKept(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	admCl, _ := kc.NewClient()
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	ctx := context.Background()
	for range 2 { // the second call finds the topic
		if err := kafka.EnsureCompactedTopics(ctx, adm, pipeline.Topics{Prefix: "t"}.Compacted(), kafka.TopicOptions{}, slog.Default()); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "t.state")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := rc.On("t.state", nil); err != nil || !hasConfig(v, "cleanup.policy", "compact") {
		t.Errorf("state topic configs %+v (%v), want cleanup.policy=compact", v.Configs, err)
	}
	if td, err := adm.ListTopics(ctx, "t.state"); err != nil || len(td["t.state"].Partitions) != 1 {
		t.Errorf("state topic has %d partitions (%v), want 1", len(td["t.state"].Partitions), err)
	}

	a, _ := startStore(t, kc, "t.state")
	b, seenB := startStore(t, kc, "t.state")
	start := time.Now()
	if err := a.Set(ctx, "billing", Admin{State: StateUserDisabled, Reason: "by API"}); err != nil {
		t.Fatal(err)
	}
	expect(t, seenB, "billing=USER_DISABLED")
	if took := time.Since(start); took > time.Second {
		t.Errorf("the other process saw the state after %s, want under a second", took)
	}
	if err := b.Set(ctx, "cold", Admin{State: StateSystemDisabled, Reason: "410"}); err != nil {
		t.Fatal(err)
	}
	expect(t, seenB, "cold=SYSTEM_DISABLED")

	restarted, _ := startStore(t, kc, "t.state")
	if got := restarted.Get("billing"); got.State != StateUserDisabled || got.Reason != "by API" {
		t.Errorf("after restart billing is %+v", got)
	}
	if got := restarted.Get("cold").State; got != StateSystemDisabled {
		t.Errorf("after restart cold is %s", got)
	}
	if got := restarted.Get("other").State; got != StateActive {
		t.Errorf("a connector never stored is %s, want ACTIVE", got)
	}
}

func hasConfig(rc kadm.ResourceConfig, key, val string) bool {
	for _, c := range rc.Configs {
		if c.Key == key && c.Value != nil && *c.Value == val {
			return true
		}
	}
	return false
}
