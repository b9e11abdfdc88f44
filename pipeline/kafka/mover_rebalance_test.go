package kafka

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A rebalance in the middle of moves writes each move once: the member
// that gives a partition up writes its pending moves with the offsets
// before it releases the partition (work cut off at RevokeGrace stays
// uncommitted), and the member that takes it over starts after them.
func TestConsumerMovesOnceAcrossRebalance(t *testing.T) {
	const n = 400
	kc, prod := moveCluster(t, n)
	joined := make(chan struct{})
	var handledB atomic.Int64
	newMember := func(id string, hold bool) *Consumer {
		var cons *Consumer
		cons, err := NewConsumer(ConsumerConfig{
			Kafka: kc, Group: "g", Topics: []string{"in"}, MaxInFlight: n, TransactionalID: id, // the held records must not take every slot
			RevokeGrace: 200 * time.Millisecond,
			Handle: func(ctx context.Context, r *kgo.Record) error {
				if hold && r.Offset >= 50 {
					select { // A holds its later records until B joined
					case <-joined:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if !hold {
					handledB.Add(1)
				}
				return cons.Move(ctx, r, &kgo.Record{Topic: "out", Value: r.Value})
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return cons
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	a := newMember("a", true)
	go func() { done <- a.Run(ctx) }()
	adm := kadm.NewClient(prod)
	waitUntil(t, func() bool { return committedAll(t, adm, "g", "in") >= 100 })
	b := newMember("b", false)
	go func() { done <- b.Run(ctx) }()
	waitUntil(t, func() bool { // B owns a partition: A gave it up
		owned := 0
		b.Stats(func(_ string, partitions int, _ time.Time) { owned += partitions })
		return owned > 0
	})
	close(joined)
	waitUntil(t, func() bool { return committedAll(t, adm, "g", "in") == n })
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if handledB.Load() == 0 {
		t.Fatal("the second member handled nothing: no partition moved")
	}
	seen := readCommitted(t, kc)
	for i := range n {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("record %d is in out %d times, want once", i, seen[strconv.Itoa(i)])
		}
	}
}
