package kafka

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// flaky is a handler whose records of key "bad" fail (RetryAt) until
// healed; it logs every record in log and counts the bad key's failures
// per offset.
type flaky struct {
	healed atomic.Bool
	fails  [64]atomic.Int32 // by offset of a bad record, modulo 64
}

func (f *flaky) handler(log *keyLog) Handler {
	return func(_ context.Context, r *kgo.Record) error {
		log.enter(r)
		fail := string(r.Key) == "bad" && !f.healed.Load()
		log.leave(r, !fail)
		if fail {
			f.fails[r.Offset%64].Add(1)
			return RetryAt(time.Now().Add(5 * time.Millisecond))
		}
		return nil
	}
}

// failed returns how many distinct bad offsets failed at least min times.
func (f *flaky) failed(min int32) int {
	n := 0
	for i := range f.fails {
		if f.fails[i].Load() >= min {
			n++
		}
	}
	return n
}

// produceRounds writes rounds from..to-1 of keys, each record's value its
// round.
func produceRounds(prod *kgo.Client, topic string, keys []string, from, to int) error {
	for i := from; i < to; i++ {
		for _, k := range keys {
			prod.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(strconv.Itoa(i))}, nil)
		}
	}
	return prod.Flush(context.Background())
}

// A reload that turns a route's KeyOrdered on or off, or changes another
// attribute of a KeyOrdered route, while a failing key's records are
// held (its head waiting for a RetryAt, holding no slot) and records keep
// arriving: nothing is stranded or lost, the commit point reaches the end
// once the key heals, and a KeyOrdered new route runs each key's records
// one at a time, in order, the held ones included.
func TestConsumerReplaceRouteKeyOrderedWithHeld(t *testing.T) {
	for _, tc := range []struct{ from, to bool }{{true, false}, {false, true}, {true, true}} {
		t.Run(fmt.Sprintf("%v-to-%v", tc.from, tc.to), func(t *testing.T) {
			kc, prod, adm := kfakeCluster(t, 1, "in")
			keys, rounds := append(keyNames("good-", 10), "bad"), 10
			if err := produceRounds(prod, "in", keys, 0, rounds); err != nil {
				t.Fatal(err)
			}
			f := &flaky{}
			log1, log2 := newKeyLog(), newKeyLog()
			// MaxHeld above the partition's 220 records: the bad key holds
			// up to 20 and other keys' records are held behind their busy
			// key now and then; at the default (4 × MaxQueued, 24 after
			// the reload) that could reach the bound, and fetching would
			// rightly stay paused until the bad key heals, which this test
			// does only after the good keys' later records are done.
			route := Route{Name: "r", Topics: []string{"in"}, MaxInFlight: 8, MaxHeld: 256, KeyOrdered: tc.from, Handle: f.handler(log1)}
			cons, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{route}})
			defer stop()
			good := (len(keys) - 1) * rounds
			poll(t, "the good keys' records done", func() bool { return log1.count() >= good })
			if tc.from { // bad's head retried twice; its other records held behind it
				poll(t, "the bad key's head retried", func() bool { return f.failed(2) == 1 })
			} else { // every bad record started and waits for its retry
				poll(t, "every bad record retried", func() bool { return f.failed(1) == rounds })
			}
			poll(t, "commit up to the bad key's head", func() bool { return committed(t, adm, "g", "in") == 10 })
			flowing := make(chan error, 1)
			go func() { flowing <- produceRounds(prod, "in", keys, rounds, 2*rounds) }()
			route.KeyOrdered, route.MaxInFlight, route.Handle = tc.to, 6, f.handler(log2)
			if err := cons.ReplaceRoute(context.Background(), route); err != nil {
				t.Fatal(err)
			}
			if err := <-flowing; err != nil {
				t.Fatal(err)
			}
			poll(t, "the good keys' new records done", func() bool { return log1.count()+log2.count() >= 2*good })
			f.healed.Store(true)
			poll(t, "everything committed", func() bool { return lagOf(t, adm, "g", "in") == 0 })
			checkKeys(t, keys, 2*rounds, log1, log2, tc.to)
		})
	}
}

// checkKeys checks that each key's values 0..n-1 were done once over
// logs, and, when ordered, that the last log ran no key twice at once
// and did each key's records in order.
func checkKeys(t *testing.T, keys []string, n int, log1, log2 *keyLog, ordered bool) {
	t.Helper()
	log1.mu.Lock()
	defer log1.mu.Unlock()
	log2.mu.Lock()
	defer log2.mu.Unlock()
	for _, k := range keys {
		got := slices.Sorted(slices.Values(append(slices.Clone(log1.done[k]), log2.done[k]...)))
		for i, v := range got {
			if v != i || len(got) != n {
				t.Fatalf("key %s: values done %v, want 0..%d once each", k, got, n-1)
			}
		}
		if ordered && !slices.IsSorted(log2.done[k]) {
			t.Errorf("key %s done out of order after the reload: %v", k, log2.done[k])
		}
	}
	if ordered && log2.overlap > 0 {
		t.Errorf("a key ran two records at once %d times after the reload", log2.overlap)
	}
}

// Removing a KeyOrdered route whose failing key holds records commits
// only the done prefix, below the key's head: the route added again
// (healed) delivers the held records, in order.
func TestConsumerRemoveRouteWithHeld(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 1, "in")
	keys, rounds := append(keyNames("good-", 10), "bad"), 5
	if err := produceRounds(prod, "in", keys, 0, rounds); err != nil {
		t.Fatal(err)
	}
	f := &flaky{}
	log1, log2 := newKeyLog(), newKeyLog()
	route := Route{Name: "r", Topics: []string{"in"}, MaxInFlight: 8, KeyOrdered: true, Handle: f.handler(log1)}
	cons, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{route}})
	defer stop()
	poll(t, "the good keys' records done", func() bool { return log1.count() >= (len(keys)-1)*rounds })
	poll(t, "the bad key's head retried", func() bool { return f.failed(2) == 1 })
	if err := cons.RemoveRoute(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	if got := committed(t, adm, "g", "in"); got != 10 {
		t.Fatalf("committed %d after removing the route, want 10: the failing key's head", got)
	}
	f.healed.Store(true)
	route.Handle = f.handler(log2)
	if err := cons.AddRoute(route); err != nil {
		t.Fatal(err)
	}
	poll(t, "everything committed", func() bool { return lagOf(t, adm, "g", "in") == 0 })
	log2.mu.Lock()
	defer log2.mu.Unlock()
	if got := log2.done["bad"]; !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("the held records delivered as %v after the route came back, want 0..4 in order", got)
	}
}

// A failing key holding more than half of MaxHeld, but less than MaxHeld,
// does not stop its partition: after the queue filled and fetching paused,
// fetching resumes once the queue is down to half, and the other keys'
// later records are read and handled.
func TestConsumerKeyOrderedQueuePauseResumesBelowMaxHeld(t *testing.T) {
	kc, prod, _ := kfakeCluster(t, 1, "in")
	if err := produceRounds(prod, "in", []string{"bad"}, 0, 10); err != nil {
		t.Fatal(err)
	}
	f := &flaky{}
	log := newKeyLog()
	cons, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "r", Topics: []string{"in"}, MaxInFlight: 2, MaxQueued: 4, MaxHeld: 16, KeyOrdered: true, Handle: f.handler(log)}}})
	defer stop()
	p := partitionOf(t, cons, "in", 0)
	held := func() int { p.lane.mu.Lock(); defer p.lane.mu.Unlock(); return p.nheld }
	poll(t, "the bad key's 10 records held", func() bool { return held() == 10 })
	good := keyNames("good-", 50)
	if err := produceRounds(prod, "in", good, 0, 1); err != nil { // fills the queue: fetching pauses
		t.Fatal(err)
	}
	poll(t, "the first good records done", func() bool { return log.count() >= 50 })
	if err := produceRounds(prod, "in", good, 1, 2); err != nil {
		t.Fatal(err)
	}
	poll(t, "the later good records done", func() bool { return log.count() >= 100 })
}

// partitionOf waits for the consumer to own topic's partition id and
// returns its state.
func partitionOf(t *testing.T, cons *Consumer, topic string, id int32) *partition {
	t.Helper()
	var p *partition
	poll(t, "partition assigned", func() bool {
		cons.mu.Lock()
		defer cons.mu.Unlock()
		p = cons.parts[topicPartition{topic, id}]
		return p != nil
	})
	return p
}
