package kafka

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// lagOf returns the records of topic's partitions not committed by group.
func lagOf(t *testing.T, adm *kadm.Client, group, topic string) int64 {
	t.Helper()
	lags, err := adm.Lag(context.Background(), group)
	if err != nil {
		t.Fatalf("lag: %v", err)
	}
	var n int64
	for _, l := range lags[group].Lag[topic] {
		n += l.Lag
	}
	if _, ok := lags[group].Lag[topic]; !ok {
		return -1
	}
	return n
}

// One group client serves several routes. A route whose handlers all
// block (its MaxInFlight taken, its partitions' queues full and paused)
// holds up neither the other routes' handling nor their commits, even
// with a consumer-wide bound smaller than the sum of the routes' bounds;
// its own offsets stay uncommitted until its work is done.
func TestConsumerStuckRouteDoesNotStallOthers(t *testing.T) {
	topics := []string{"stuck", "a", "b", "c"}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := Config{Brokers: c.ListenAddrs()}
	prod, _ := kc.NewClient()
	defer prod.Close()
	const n = 600 // per topic
	for _, tp := range topics {
		for i := range n {
			prod.Produce(context.Background(), &kgo.Record{Topic: tp, Key: []byte(strconv.Itoa(i)), Value: []byte("v")}, nil)
		}
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var stuckRunning, stuckPeak atomic.Int64
	var mu sync.Mutex
	handled := map[string]int{}
	routes := []Route{{Name: "stuck", Topics: []string{"stuck"}, MaxInFlight: 4, MaxQueued: 8,
		Handle: func(ctx context.Context, _ *kgo.Record) error {
			cur := stuckRunning.Add(1)
			defer stuckRunning.Add(-1)
			for p := stuckPeak.Load(); cur > p && !stuckPeak.CompareAndSwap(p, cur); p = stuckPeak.Load() {
			}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}}
	for _, tp := range topics[1:] {
		routes = append(routes, Route{Name: tp, Topics: []string{tp}, MaxInFlight: 8,
			Handle: func(_ context.Context, r *kgo.Record) error {
				mu.Lock()
				handled[r.Topic]++
				mu.Unlock()
				return nil
			}})
	}
	cons, err := NewConsumer(ConsumerConfig{Kafka: kc, Group: "g", Routes: routes, MaxInFlightTotal: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	adm := kadm.NewClient(prod)
	for _, tp := range topics[1:] {
		waitUntil(t, func() bool { return lagOf(t, adm, "g", tp) == 0 })
	}
	mu.Lock()
	for _, tp := range topics[1:] {
		if handled[tp] < n {
			t.Errorf("route %s handled %d of %d", tp, handled[tp], n)
		}
	}
	mu.Unlock()
	if got := stuckRunning.Load(); got != 4 {
		t.Errorf("stuck route runs %d handlers, want its max_in_flight 4", got)
	}
	if l := lagOf(t, adm, "g", "stuck"); l != -1 && l != n {
		t.Errorf("stuck route committed past work not done: lag %d of %d", l, n)
	}
	close(release)
	waitUntil(t, func() bool { return lagOf(t, adm, "g", "stuck") == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p := stuckPeak.Load(); p > 4 {
		t.Errorf("stuck route peaked at %d handlers, above its max_in_flight 4", p)
	}
}
