package kafka

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tally counts, per route version and key, the records handled.
type tally struct {
	mu  sync.Mutex
	got map[string]map[string]int // version → key → times
}

func (ty *tally) handler(version string) Handler {
	return func(_ context.Context, r *kgo.Record) error {
		ty.mu.Lock()
		defer ty.mu.Unlock()
		if ty.got[version] == nil {
			ty.got[version] = map[string]int{}
		}
		ty.got[version][r.Topic+"/"+string(r.Key)]++
		return nil
	}
}

func (ty *tally) count(versions ...string) (keys, total int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	seen := map[string]bool{}
	for _, v := range versions {
		for k, n := range ty.got[v] {
			seen[k] = true
			total += n
		}
	}
	return len(seen), total
}

func produceN(t *testing.T, prod *kgo.Client, topic string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		prod.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte("v")}, nil)
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// kfakeCluster is a kfake cluster with topics of partitions partitions,
// a producer and an admin client, all closed when the test ends.
func kfakeCluster(t *testing.T, partitions int32, topics ...string) (Config, *kgo.Client, *kadm.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := Config{Brokers: c.ListenAddrs()}
	prod, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return kc, prod, kadm.NewClient(prod)
}

// ReplaceRoute waits for the route's in-flight handlers (it does not
// cancel them), then handles the rest with the new handler: every record
// is handled exactly once by the old or the new version, and the other
// route's records exactly once.
func TestConsumerReplaceRouteSettlesFirst(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 3, "a", "b")
	const n = 300
	produceN(t, prod, "a", 0, n)
	produceN(t, prod, "b", 0, n)
	ty := &tally{got: map[string]map[string]int{}}
	block := make(chan struct{})
	var once sync.Once
	started := make(chan struct{})
	v1 := ty.handler("v1")
	slow := func(ctx context.Context, r *kgo.Record) error {
		once.Do(func() { close(started) })
		<-block // in flight while the replace begins
		return v1(ctx, r)
	}
	cons, err := NewConsumer(ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{
		{Name: "a", Topics: []string{"a"}, MaxInFlight: 4, Handle: slow},
		{Name: "b", Topics: []string{"b"}, MaxInFlight: 4, Handle: ty.handler("b")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	<-started
	replaced := make(chan error, 1)
	go func() {
		replaced <- cons.ReplaceRoute(ctx, Route{Name: "a", Topics: []string{"a"}, MaxInFlight: 8, Handle: ty.handler("v2")})
	}()
	poll(t, "route b done while a drains", func() bool { return lagOf(t, adm, "g", "b") == 0 })
	select {
	case err := <-replaced:
		t.Fatalf("ReplaceRoute returned (%v) while handlers of the old route were in flight", err)
	default:
	}
	close(block)
	if err := <-replaced; err != nil {
		t.Fatal(err)
	}
	produceN(t, prod, "a", n, 2*n)
	poll(t, "route a done", func() bool { return lagOf(t, adm, "g", "a") == 0 })
	if keys, total := ty.count("v1", "v2"); keys != 2*n || total != 2*n {
		t.Errorf("route a: %d keys handled %d times, want %d once each", keys, total, 2*n)
	}
	if k, _ := ty.count("v1"); k == 0 || k > 2*n {
		t.Errorf("old handler handled %d", k)
	}
	if k, _ := ty.count("v2"); k < n {
		t.Errorf("new handler handled %d, want at least the %d produced after the replace", k, n)
	}
	if keys, total := ty.count("b"); keys != n || total != n {
		t.Errorf("route b: %d keys handled %d times, want %d once each", keys, total, n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A dynamic consumer starts with no routes (and counts as joined); an
// added route is consumed; a removed one stops with its done prefix
// committed, and what is produced after stays for a later consumer.
func TestConsumerAddRemoveRoute(t *testing.T) {
	kc, prod, adm := kfakeCluster(t, 3, "a", "b")
	cons, err := NewConsumer(ConsumerConfig{Kafka: kc, Group: "g", Dynamic: true})
	if err != nil {
		t.Fatal(err)
	}
	if !cons.Joined() {
		t.Error("a consumer without routes is not ready")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	ty := &tally{got: map[string]map[string]int{}}
	const n = 200
	produceN(t, prod, "a", 0, n)
	if err := cons.AddRoute(Route{Name: "a", Topics: []string{"a"}, Handle: ty.handler("a")}); err != nil {
		t.Fatal(err)
	}
	if err := cons.AddRoute(Route{Name: "x", Topics: []string{"a"}, Handle: ty.handler("x")}); err == nil {
		t.Error("a second route over topic a was accepted")
	}
	poll(t, "route a done", func() bool { return lagOf(t, adm, "g", "a") == 0 })
	if err := cons.RemoveRoute(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	produceN(t, prod, "a", n, 2*n)
	produceN(t, prod, "b", 0, n)
	if err := cons.AddRoute(Route{Name: "b", Topics: []string{"b"}, Handle: ty.handler("b")}); err != nil {
		t.Fatal(err)
	}
	poll(t, "route b done", func() bool { return lagOf(t, adm, "g", "b") == 0 })
	if keys, total := ty.count("a"); keys != n || total != n {
		t.Errorf("removed route handled %d keys %d times, want the %d before removal once each", keys, total, n)
	}
	if l := lagOf(t, adm, "g", "a"); l != n {
		t.Errorf("removed route's topic lag %d, want the %d produced after removal", l, n)
	}
	if err := cons.RemoveRoute(ctx, "a"); err == nil {
		t.Error("removing a removed route succeeded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
