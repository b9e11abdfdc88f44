package kafka

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// moveCluster returns a kfake cluster with topics in (2 partitions) and
// out, and n records produced to in, alternating between its partitions.
func moveCluster(t *testing.T, n int) (Config, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := Config{Brokers: c.ListenAddrs()}
	prod, err := kc.NewClient(kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	for i := range n {
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return kc, prod
}

// mover returns a transactional consumer of in whose handler moves the
// records with an odd value to out and acknowledges the others at once.
func moverConsumer(t *testing.T, kc Config, txnID string) *Consumer {
	t.Helper()
	var cons *Consumer
	cons, err := NewConsumer(ConsumerConfig{
		Kafka: kc, Group: "g", Topics: []string{"in"}, MaxInFlight: 50, TransactionalID: txnID,
		Handle: func(ctx context.Context, r *kgo.Record) error {
			if i, _ := strconv.Atoi(string(r.Value)); i%2 == 0 {
				return nil
			}
			return cons.Move(ctx, r, &kgo.Record{Topic: "out", Value: r.Value})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// readCommitted returns how many times each value is in topic out, as a
// read_committed consumer sees it.
func readCommitted(t *testing.T, kc Config) map[string]int {
	t.Helper()
	cl, err := kc.NewClient(kgo.ConsumeTopics("out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, "out")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	for len(left) > 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				seen[string(r.Value)]++
			}
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	return seen
}

// A transactional consumer writes each moved record once, and commits
// the group past every record, moved or acknowledged.
func TestConsumerMovesOnce(t *testing.T) {
	const n = 400
	kc, prod := moveCluster(t, n)
	cons := moverConsumer(t, kc, "tx")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	adm := kadm.NewClient(prod)
	waitUntil(t, func() bool { return committedAll(t, adm, "g", "in") == n })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := readCommitted(t, kc)
	for i := 1; i < n; i += 2 {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("record %d is in out %d times, want once", i, seen[strconv.Itoa(i)])
		}
	}
	if len(seen) != n/2 {
		t.Errorf("out holds %d distinct records, want %d", len(seen), n/2)
	}
}

// committedAll sums the group's committed offsets of topic's partitions.
func committedAll(t *testing.T, adm *kadm.Client, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return -1
	}
	var sum int64
	os.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			sum += o.At
		}
	})
	return sum
}

// A second consumer with the same transactional id fences the first: its
// next transaction fails, and its Run returns the fenced error.
func TestConsumerMoverFenced(t *testing.T) {
	kc, _ := moveCluster(t, 20)
	first := moverConsumer(t, kc, "same")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	waitUntil(t, first.Joined)
	// The group client joins from NewConsumer on, before Run's initTxn
	// has the first's producer id: wait for it, so that the second's
	// comes after and fences it (not the other way round).
	if _, _, err := first.mover.txn.prod.ProducerID(ctx); err != nil {
		t.Fatal(err)
	}
	second := moverConsumer(t, kc, "same")
	if err := second.initTxn(ctx); err != nil {
		t.Fatal(err)
	}
	defer second.cl.Close()
	defer second.mover.txn.prod.Close()
	// The first one moves a new record: its transaction is fenced.
	if err := kgoProduce(kc, "in", "99"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !fatalTxn(err) {
			t.Fatalf("Run returned %v, want a fenced error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the fenced consumer is still running")
	}
}

func kgoProduce(kc Config, topic, value string) error {
	cl, err := kc.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr()
}
