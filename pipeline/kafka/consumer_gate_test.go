package kafka

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// closedGate refuses everything until opened; then it admits all.
type closedGate struct {
	open  atomic.Bool
	asked atomic.Int64
	mu    sync.Mutex
	wakes []func()
}

func (g *closedGate) Admit(*kgo.Record, time.Time, int) (bool, time.Time) {
	g.asked.Add(1)
	return g.open.Load(), time.Time{}
}

func (g *closedGate) OnWake(fn func()) {
	g.mu.Lock()
	g.wakes = append(g.wakes, fn)
	g.mu.Unlock()
}

func (g *closedGate) openUp() {
	g.open.Store(true)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, fn := range g.wakes {
		fn()
	}
}

// While its gate refuses, a route starts only the records past
// ExpiresAt, when they expire (not before), and commits them; Stats
// reports the oldest pending one. Woken, it handles the rest.
func TestConsumerGateRefusesButExpiresOnTime(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := Config{Brokers: c.ListenAddrs()}
	prod, _ := kc.NewClient()
	defer prod.Close()
	start := time.Now()
	// Records 0-9 expire 300 ms from now, 10-19 in an hour; the value
	// says when, in unix ms.
	for i := range 20 {
		exp := start.Add(300 * time.Millisecond)
		if i >= 10 {
			exp = start.Add(time.Hour)
		}
		v := strconv.FormatInt(exp.UnixMilli(), 10)
		prod.Produce(context.Background(), &kgo.Record{Topic: "t", Key: []byte(strconv.Itoa(i)), Value: []byte(v)}, nil)
	}
	if err := prod.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	expiresAt := func(r *kgo.Record) time.Time {
		ms, _ := strconv.ParseInt(string(r.Value), 10, 64)
		return time.UnixMilli(ms)
	}
	gate := &closedGate{}
	var mu sync.Mutex
	var early, expired, fresh int
	cons, err := NewConsumer(ConsumerConfig{Kafka: kc, Group: "g", Routes: []Route{{
		Name: "r", Topics: []string{"t"}, MaxInFlight: 8, Gate: gate, ExpiresAt: expiresAt,
		Handle: func(_ context.Context, r *kgo.Record) error {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case gate.open.Load():
				fresh++
			case time.Now().Before(expiresAt(r)):
				early++
			default:
				expired++
			}
			return nil
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	defer func() { cancel(); <-done }()
	count := func() (int, int, int) { mu.Lock(); defer mu.Unlock(); return early, expired, fresh }
	poll(t, "the 10 expiring records handled while the gate refuses", func() bool { _, e, _ := count(); return e == 10 })
	var oldest time.Time
	cons.Stats(func(route string, n int, o time.Time) { oldest = o })
	if want := start.Add(time.Hour).Truncate(time.Millisecond); !oldest.Equal(want) {
		t.Errorf("oldest pending expires %v, want %v (the first record not handled)", oldest, want)
	}
	if e, _, f := count(); e != 0 || f != 0 {
		t.Fatalf("while refused: %d started before expiry, %d not expired", e, f)
	}
	gate.openUp()
	poll(t, "the other 10 handled once the gate opens", func() bool { _, _, f := count(); return f == 10 })
	adm := kadm.NewClient(prod)
	poll(t, "everything committed", func() bool { return lagOf(t, adm, "g", "t") == 0 })
}

// poll waits up to 10 s for cond.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
