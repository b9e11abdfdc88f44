package kafka

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A route whose gate refuses (a connector with its breaker open) pauses
// fetching its partitions, and the records it holds queued do not count
// against the consumer's bound on queued records: however many it holds,
// the other routes' records are still fetched and handled. The refused
// route's records are handled once its gate opens, and everything is
// committed.
func TestConsumerRefusedRouteDoesNotHoldUpPolling(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 4, "refused", "healthy")
	// 80 records over 4 partitions: fewer than MaxQueued (100) in each,
	// so none pauses because its queue is full, but more than the
	// consumer's MaxQueuedTotal (4 × 8 = 32).
	const refusedN, healthyN = 80, 200
	produceN(t, prod, "refused", 0, refusedN)
	gate := &closedGate{}
	var refused, healthy atomic.Int64
	routes := []Route{
		{Name: "refused", Topics: []string{"refused"}, MaxInFlight: 100, Gate: gate,
			ExpiresAt: func(*kgo.Record) time.Time { return time.Now().Add(time.Hour) },
			Handle:    func(context.Context, *kgo.Record) error { refused.Add(1); return nil }},
		{Name: "healthy", Topics: []string{"healthy"}, MaxInFlight: 4,
			Handle: func(context.Context, *kgo.Record) error { healthy.Add(1); return nil }},
	}
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: routes, MaxInFlightTotal: 8})
	defer stop()
	poll(t, "the refused route asked its gate", func() bool { return gate.asked.Load() > 0 })
	produceN(t, prod, "healthy", 0, healthyN)
	poll(t, "the healthy route's records handled", func() bool { return healthy.Load() == healthyN })
	if n := refused.Load(); n != 0 {
		t.Fatalf("the refused route handled %d records while its gate refused", n)
	}
	gate.openUp()
	poll(t, "the refused route's records handled once its gate opens", func() bool { return refused.Load() == refusedN })
	poll(t, "everything committed", func() bool {
		return lagOf(t, adm, "g", "refused") == 0 && lagOf(t, adm, "g", "healthy") == 0
	})
}

// A route whose handlers all hang (a slow endpoint) takes at most the
// pool less its reserve, MaxInFlightTotal / routes, even with nothing
// else to do: another route that gets records later starts them at once
// instead of waiting for the slow handlers to give slots back.
func TestConsumerSlowRouteLeavesReserve(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 4, "slow", "fast")
	produceN(t, prod, "slow", 0, 100)
	release := make(chan struct{})
	var slowRunning, slowPeak, fast atomic.Int64
	routes := []Route{
		{Name: "slow", Topics: []string{"slow"}, MaxInFlight: 100, MaxQueued: 8, Handle: func(ctx context.Context, _ *kgo.Record) error {
			cur := slowRunning.Add(1)
			defer slowRunning.Add(-1)
			for p := slowPeak.Load(); cur > p && !slowPeak.CompareAndSwap(p, cur); p = slowPeak.Load() {
			}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		{Name: "fast", Topics: []string{"fast"}, MaxInFlight: 100,
			Handle: func(context.Context, *kgo.Record) error { fast.Add(1); return nil }},
	}
	// 20 slots, 2 routes: a reserve of 10. The slow route's queues are
	// short, so its partitions pause and hold no records against the
	// consumer's MaxQueuedTotal (80).
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: routes, MaxInFlightTotal: 20})
	defer stop()
	poll(t, "the slow route running 10 handlers", func() bool { return slowRunning.Load() == 10 })
	produceN(t, prod, "fast", 0, 200)
	poll(t, "the fast route's records handled while the slow ones hang", func() bool { return fast.Load() == 200 })
	if p := slowPeak.Load(); p > 10 {
		t.Errorf("the slow route held %d slots, want at most 20 less the reserve of 10", p)
	}
	close(release)
	poll(t, "everything committed", func() bool { return lagOf(t, adm, "g", "slow") == 0 && lagOf(t, adm, "g", "fast") == 0 })
}

// Records whose head is not due yet (a retry tier's backoff) do not count
// against the consumer's bound on queued records either: a route with
// many of them does not hold up the other routes' records.
func TestConsumerRecordsNotDueDoNotHoldUpPolling(t *testing.T) {
	kc, prod, _ := kfakeCluster(t, 4, "later", "now")
	produceN(t, prod, "later", 0, 80) // under MaxQueued (100) per partition, over MaxQueuedTotal (32)
	var asked, later, now atomic.Int64
	routes := []Route{
		{Name: "later", Topics: []string{"later"}, MaxInFlight: 100,
			DueAt:  func(*kgo.Record) time.Time { asked.Add(1); return time.Now().Add(time.Hour) },
			Handle: func(context.Context, *kgo.Record) error { later.Add(1); return nil }},
		{Name: "now", Topics: []string{"now"}, MaxInFlight: 4,
			Handle: func(context.Context, *kgo.Record) error { now.Add(1); return nil }},
	}
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: routes, MaxInFlightTotal: 8})
	defer stop()
	poll(t, "the later route's heads asked when they are due", func() bool { return asked.Load() >= 4 })
	produceN(t, prod, "now", 0, 200)
	poll(t, "the other route's records handled", func() bool { return now.Load() == 200 })
	if n := later.Load(); n != 0 {
		t.Fatalf("%d records handled before they were due", n)
	}
}
