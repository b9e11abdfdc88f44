package kafka

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// keyLog records, per key, the records a KeyOrdered route's handler saw:
// how many of a key ran at once, and the values done, in order.
type keyLog struct {
	mu       sync.Mutex
	running  map[string]int
	parts    map[int32]int // handlers running per partition
	overlap  int           // times a key ran twice at once
	peakPart int           // most handlers running at once in one partition
	done     map[string][]int
	ndone    int
}

func newKeyLog() *keyLog {
	return &keyLog{running: map[string]int{}, parts: map[int32]int{}, done: map[string][]int{}}
}

func (k *keyLog) enter(r *kgo.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.running[string(r.Key)]++; k.running[string(r.Key)] > 1 {
		k.overlap++
	}
	k.parts[r.Partition]++
	k.peakPart = max(k.peakPart, k.parts[r.Partition])
}

func (k *keyLog) leave(r *kgo.Record, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.running[string(r.Key)]--
	k.parts[r.Partition]--
	if ok {
		v, _ := strconv.Atoi(string(r.Value))
		k.done[string(r.Key)] = append(k.done[string(r.Key)], v)
		k.ndone++
	}
}

func (k *keyLog) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ndone
}

// produceKeyed writes rounds × keys records, round by round, so that keys
// interleave; each record's value is its round.
func produceKeyed(t *testing.T, prod *kgo.Client, topic string, keys []string, rounds int) {
	t.Helper()
	if err := produceRounds(prod, topic, keys, 0, rounds); err != nil {
		t.Fatal(err)
	}
}

func keyNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// expiryInValue is an ExpiresAt for records whose value is
// "<i>/<expiry in Unix ms>".
func expiryInValue(r *kgo.Record) time.Time {
	_, ms, _ := strings.Cut(string(r.Value), "/")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}

func runConsumer(t *testing.T, cfg ConsumerConfig) (*Consumer, func()) {
	t.Helper()
	cons, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	return cons, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// With random handler latency and random failures retried in place
// (RetryAt), a KeyOrdered route finishes each key's records in offset
// order, never runs two records of a key at once, and still runs many
// records per partition at once.
func TestConsumerKeyOrderedInOrder(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 3, "in")
	keys, rounds := keyNames("device-", 100), 20
	produceKeyed(t, prod, "in", keys, rounds)
	log := newKeyLog()
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "ordered", Topics: []string{"in"}, MaxInFlight: 40, KeyOrdered: true,
		Handle: func(_ context.Context, r *kgo.Record) error {
			log.enter(r)
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			fail := rand.IntN(10) == 0
			log.leave(r, !fail)
			if fail {
				return RetryAt(time.Now().Add(time.Duration(rand.IntN(5)) * time.Millisecond))
			}
			return nil
		}}}})
	defer stop()
	waitUntil(t, func() bool { return log.count() >= len(keys)*rounds })
	waitUntil(t, func() bool { return lagOf(t, adm, "g", "in") == 0 })
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, k := range keys {
		got := log.done[k]
		for i, v := range got {
			if v != i {
				t.Fatalf("key %s done in order %v, want 0..%d", k, got, rounds-1)
			}
		}
		if len(got) != rounds {
			t.Errorf("key %s: %d records done, want %d", k, len(got), rounds)
		}
	}
	if log.overlap > 0 {
		t.Errorf("a key ran two records at once %d times", log.overlap)
	}
	if log.peakPart < 2 {
		t.Errorf("at most %d handler(s) ran at once per partition, want many", log.peakPart)
	}
}

// A key whose record keeps failing holds back only its own later records:
// the other keys of the same partition are all done, the commit point
// stops at the failing record, and once it succeeds its key's records
// follow in order.
func TestConsumerKeyOrderedFailingKeyHoldsOnlyItself(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 1, "in")
	keys, rounds := append(keyNames("good-", 50), "bad"), 10
	produceKeyed(t, prod, "in", keys, rounds) // bad's first record is offset 50
	log := newKeyLog()
	var mu sync.Mutex
	healed, badStarted := false, map[int64]bool{}
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "ordered", Topics: []string{"in"}, MaxInFlight: 8, KeyOrdered: true,
		Handle: func(_ context.Context, r *kgo.Record) error {
			log.enter(r)
			mu.Lock()
			fail := string(r.Key) == "bad" && !healed
			if string(r.Key) == "bad" {
				badStarted[r.Offset] = true
			}
			mu.Unlock()
			log.leave(r, !fail)
			if fail {
				return RetryAt(time.Now().Add(10 * time.Millisecond))
			}
			return nil
		}}}})
	defer stop()
	good := (len(keys) - 1) * rounds
	waitUntil(t, func() bool { return log.count() >= good })
	waitUntil(t, func() bool { return committed(t, adm, "g", "in") == 50 })
	mu.Lock()
	if len(badStarted) != 1 || !badStarted[50] {
		t.Errorf("the failing key started offsets %v, want only its first, 50", badStarted)
	}
	healed = true
	mu.Unlock()
	waitUntil(t, func() bool { return lagOf(t, adm, "g", "in") == 0 })
	log.mu.Lock()
	defer log.mu.Unlock()
	if got := log.done["bad"]; len(got) != rounds || got[0] != 0 || got[rounds-1] != rounds-1 {
		t.Errorf("the healed key's records done as %v", got)
	}
	if log.overlap > 0 {
		t.Errorf("a key ran two records at once %d times", log.overlap)
	}
}

// A key that fails forever does not make the consumer read its partition
// without bound: once its queue has drained into held records, fetching
// stays paused while they are at MaxHeld.
func TestConsumerKeyOrderedHeldIsBounded(t *testing.T) {
	kc, prod, _ := kfakeCluster(t, 1, "in", "tick")
	produce := func(n int) {
		for range n {
			prod.Produce(context.Background(), &kgo.Record{Topic: "in", Key: []byte("stuck"), Value: []byte("v")}, nil)
		}
		if err := prod.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	const first, n = 200, 5000
	produce(first)
	ticks := make(chan string, 1)
	cons, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "ordered", Topics: []string{"in"}, MaxInFlight: 8, MaxQueued: 16, MaxHeld: 64, KeyOrdered: true,
		Handle: func(_ context.Context, _ *kgo.Record) error {
			return RetryAt(time.Now().Add(5 * time.Millisecond))
		}}, {
		Name: "ticks", Topics: []string{"tick"}, // a probe of the fetches after the pause
		Handle: func(_ context.Context, r *kgo.Record) error {
			ticks <- string(r.Value)
			return nil
		}}}})
	defer stop()
	p := partitionOf(t, cons, "in", 0)
	waitUntil(t, func() bool {
		p.lane.mu.Lock()
		defer p.lane.mu.Unlock()
		return p.paused && p.nheld >= 64 && len(p.queue) < 16
	})
	produce(n - first)
	// Fetching stays paused: nothing more is read, over three fetches
	// answered after the records above were written (the first may have
	// been asked for before; the second would carry them were in
	// fetched; the third's poll comes after the second's was dispatched).
	for i := range 3 {
		tick := strconv.Itoa(i)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: "tick", Value: []byte(tick)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-ticks:
			if got != tick {
				t.Fatalf("tick %s handled, want %s", got, tick)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("tick %s not handled within 20s", tick)
		}
	}
	if read := p.tracker.Pending(); read != first {
		t.Errorf("read %d of %d records of a key that fails forever, want the %d read before the pause", read, n, first)
	}
}

// While its gate refuses, a KeyOrdered route still starts a key's expired
// records, one after the other in order (each next one from the held
// records, not the queue), and none that has not expired; opened, it
// handles the rest in order.
func TestConsumerKeyOrderedGateExpiresInOrder(t *testing.T) {
	kc, prod, _ := kfakeCluster(t, 1, "t")
	soon, late := time.Now().Add(300*time.Millisecond).UnixMilli(), time.Now().Add(time.Hour).UnixMilli()
	// Key k's records expire soon, then key j's in an hour (expiry grows
	// with the offset, as ingest time does); the value is "<i>/<expiry ms>".
	for _, key := range []string{"k", "j"} {
		exp := map[string]int64{"k": soon, "j": late}[key]
		for i := range 5 {
			v := strconv.Itoa(i) + "/" + strconv.FormatInt(exp, 10)
			prod.Produce(context.Background(), &kgo.Record{Topic: "t", Key: []byte(key), Value: []byte(v)}, nil)
		}
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	expiresAt := expiryInValue
	gate := &closedGate{}
	var mu sync.Mutex
	var handled []string // "<key><i>", in order; "!" marks one started before its expiry while refused
	_, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "r", Topics: []string{"t"}, MaxInFlight: 8, Gate: gate, ExpiresAt: expiresAt, KeyOrdered: true,
		Handle: func(_ context.Context, r *kgo.Record) error {
			i, _, _ := strings.Cut(string(r.Value), "/")
			mark := ""
			if !gate.open.Load() && time.Now().Before(expiresAt(r)) {
				mark = "!"
			}
			mu.Lock()
			handled = append(handled, mark+string(r.Key)+i)
			mu.Unlock()
			return nil
		}}}})
	defer stop()
	got := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(handled, " ") }
	poll(t, "key k's expired records while the gate refuses", func() bool { return strings.Count(got(), "k") == 5 })
	if g := got(); g != "k0 k1 k2 k3 k4" {
		t.Fatalf("while refused, handled %q, want k0 k1 k2 k3 k4", g)
	}
	gate.openUp()
	poll(t, "key j once the gate opens", func() bool { return strings.Count(got(), "j") == 5 })
	if g := got(); g != "k0 k1 k2 k3 k4 j0 j1 j2 j3 j4" {
		t.Errorf("handled %q", g)
	}
}

// While the gate refuses, an expired held record starts even when a record
// of another key that has not expired is ahead of it among the ready ones.
func TestConsumerKeyOrderedGateExpiresBehindReady(t *testing.T) {
	kc, prod, _ := kfakeCluster(t, 1, "t")
	soon, late := time.Now().Add(300*time.Millisecond).UnixMilli(), time.Now().Add(time.Hour).UnixMilli()
	for _, kv := range [][2]string{{"a", "0/" + strconv.FormatInt(late, 10)}, {"b", "0/" + strconv.FormatInt(late, 10)}, {"b", "1/" + strconv.FormatInt(soon, 10)}} {
		prod.Produce(context.Background(), &kgo.Record{Topic: "t", Key: []byte(kv[0]), Value: []byte(kv[1])}, nil)
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	expiresAt := expiryInValue
	gate := &closedGate{}
	gate.open.Store(true)
	bStarted, releaseB := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var handled []string // "<key><i>" of each start, "!" before one started early while refused
	cons, stop := runConsumer(t, ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "r", Topics: []string{"t"}, MaxInFlight: 8, Gate: gate, ExpiresAt: expiresAt, KeyOrdered: true,
		Handle: func(_ context.Context, r *kgo.Record) error {
			i, _, _ := strings.Cut(string(r.Value), "/")
			name := string(r.Key) + i
			if !gate.open.Load() && time.Now().Before(expiresAt(r)) {
				name = "!" + name
			}
			mu.Lock()
			handled = append(handled, name)
			mu.Unlock()
			switch name {
			case "a0": // fails, and closes the gate once b0 runs
				<-bStarted
				gate.open.Store(false)
				return RetryAt(time.Now().Add(50 * time.Millisecond))
			case "b0": // runs until released: b1 waits behind it
				close(bStarted)
				<-releaseB
			}
			return nil
		}}}})
	defer stop()
	readyLen := func() int {
		cons.mu.Lock()
		p := cons.parts[topicPartition{"t", 0}]
		cons.mu.Unlock()
		if p == nil {
			return 0
		}
		p.lane.mu.Lock()
		defer p.lane.mu.Unlock()
		return p.ready.len()
	}
	poll(t, "a0 ready again, refused by the gate", func() bool { return readyLen() == 1 })
	close(releaseB) // b1 becomes ready behind a0, and expires at 300 ms
	got := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(handled, " ") }
	poll(t, "b1 started at its expiry", func() bool { return strings.Contains(got(), "b1") })
	if g := got(); g != "a0 b0 b1" && g != "b0 a0 b1" {
		t.Errorf("handled %q, want a0 and b0, then b1 after its expiry and nothing else", g)
	}
}
