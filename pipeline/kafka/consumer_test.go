package kafka

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committed returns the group's committed offset of topic partition 0,
// -1 when none.
func committed(t *testing.T, adm *kadm.Client, group, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	os, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	if o, ok := os.Lookup(topic, 0); ok {
		return o.At
	}
	return -1
}

// With handlers finishing in random order, the group's committed offset
// never passes a record whose work is not done, and reaches the end once
// all are; handlers run concurrently up to MaxInFlight.
func TestConsumerCommitsOnlyDonePrefix(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := Config{Brokers: c.ListenAddrs()}
	prod, _ := kc.NewClient()
	defer prod.Close()
	const n = 200
	for i := range n {
		prod.ProduceSync(context.Background(), &kgo.Record{Topic: "in", Value: []byte(strconv.Itoa(i))})
	}
	release := make([]chan struct{}, n)
	for i := range release {
		release[i] = make(chan struct{})
	}
	var mu sync.Mutex
	started, running, peak := 0, 0, 0
	cons, err := NewConsumer(ConsumerConfig{
		Kafka: kc, Group: "g", Topics: []string{"in"}, MaxInFlight: 50,
		Handle: func(ctx context.Context, r *kgo.Record) error {
			mu.Lock()
			started++
			running++
			peak = max(peak, running)
			mu.Unlock()
			defer func() { mu.Lock(); running--; mu.Unlock() }()
			select {
			case <-release[r.Offset]:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	adm := kadm.NewClient(prod)

	// Release running handlers in random order, all but the one at hole.
	const hole = 37
	rng := rand.New(rand.NewPCG(1, 2))
	released := make([]bool, n)
	for left := n - 1; left > 0; left-- {
		var pick []int
		waitUntil(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			pick = pick[:0]
			for i := 0; i < started; i++ {
				if !released[i] && i != hole {
					pick = append(pick, i)
				}
			}
			return len(pick) > 0
		})
		i := pick[rng.IntN(len(pick))]
		released[i] = true
		close(release[i])
	}
	waitUntil(t, func() bool { return committed(t, adm, "g", "in") == hole })
	time.Sleep(1500 * time.Millisecond) // two autocommit intervals: nothing may move past the hole
	if got := committed(t, adm, "g", "in"); got != hole {
		t.Fatalf("committed %d with offset %d not done", got, hole)
	}
	close(release[hole])
	waitUntil(t, func() bool { return committed(t, adm, "g", "in") == n })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if peak > 50 || peak < 2 {
		t.Fatalf("peak concurrency %d, want 2..50", peak)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
