package kafka

import (
	"context"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// A transaction whose offset commit the group refuses (a rebalance
// moved the generation on) is aborted and its moves written again in the
// next one: read_committed, each moved record is in out once.
func TestConsumerMoveAbortedThenRewritten(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	refused := kafkatest.RefuseTxnOffsetCommit(c, kerr.IllegalGeneration)
	kc := Config{Brokers: c.ListenAddrs()}
	const n = 40
	for i := range n {
		if err := kgoProduce(kc, "in", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	runMover(t, kc, n)
	if refused() != 1 {
		t.Fatalf("the offset commit was refused %d times; the test needs one abort", refused())
	}
	seen := readCommitted(t, kc)
	for i := 1; i < n; i += 2 {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("record %d is in out %d times, want once", i, seen[strconv.Itoa(i)])
		}
	}
}

// runMover runs moverConsumer until the group committed n offsets of in.
func runMover(t *testing.T, kc Config, n int64) {
	t.Helper()
	cons := moverConsumer(t, kc, "tx")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	waitUntil(t, func() bool { return committedAll(t, kadm.NewClient(cl), "g", "in") == n })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A move above a record still in flight waits for it: a transaction
// cannot commit the move's offset past the hole, and one that wrote the
// move without its offset would let a crash write it twice.
func TestConsumerMoveWaitsForHole(t *testing.T) {
	kc, _ := moveCluster(t, 0)
	for _, v := range []string{"0", "1"} { // partition 0 holds both
		if err := kgoProducePart(kc, v); err != nil {
			t.Fatal(err)
		}
	}
	hold := make(chan struct{})
	var cons *Consumer
	cons, err := NewConsumer(ConsumerConfig{
		Kafka: kc, Group: "g", Topics: []string{"in"}, TransactionalID: "tx",
		Handle: func(ctx context.Context, r *kgo.Record) error {
			if r.Offset == 0 {
				<-hold
				return nil
			}
			return cons.Move(ctx, r, &kgo.Record{Topic: "out", Value: r.Value})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	pending := func() int { cons.mover.mu.Lock(); defer cons.mover.mu.Unlock(); return len(cons.mover.pending) }
	waitUntil(t, func() bool { return pending() == 1 })
	cons.flushMoves(true)
	if pending() != 1 {
		t.Fatal("the move above the record in flight was written")
	}
	close(hold)
	cl, _ := kc.NewClient()
	defer cl.Close()
	waitUntil(t, func() bool { return committedAll(t, kadm.NewClient(cl), "g", "in") == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seen := readCommitted(t, kc); seen["1"] != 1 || len(seen) != 1 {
		t.Fatalf("out holds %v, want record 1 once", seen)
	}
}

// kgoProducePart produces value to partition 0 of in.
func kgoProducePart(kc Config, value string) error {
	cl, err := kc.NewClient(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Partition: 0, Value: []byte(value)}).FirstErr()
}
