package deliver

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// A reload that changes an ordered connector (its ordering to none, or
// another attribute) while a failing device's head waits to be retried in
// place and the device's later events are held behind it: once the
// endpoint heals, every event is delivered exactly once, the device's
// held events included, and the group's commit point reaches the end.
// Kept ordered, the device's events arrive in order.
func TestDeliverOrderedApplyWithHeldDevice(t *testing.T) {
	for _, ordering := range []string{pipeline.OrderingNone, pipeline.OrderingDevice} {
		t.Run(ordering, func(t *testing.T) {
			var healed atomic.Bool
			var stuckTries atomic.Int32
			e := newOrderedEndpoint(func(d string, _ int) bool {
				if d != "stuck" {
					return false
				}
				stuckTries.Add(1)
				return !healed.Load()
			}, func() time.Duration { return 0 })
			st, brokers, write := orderedStage(t, e, pipeline.RetryPolicy{Backoff: []time.Duration{20 * time.Millisecond, 300 * time.Millisecond}, MaxAge: time.Hour})
			devices := append(keys("dev-", 10), "stuck")
			for seq := range 5 {
				for _, d := range devices {
					write(d, seq, time.Now())
				}
			}
			waitFor(t, "the other devices' events", func() bool { return e.count() >= 50 })
			waitFor(t, "the stuck head retried", func() bool { return stuckTries.Load() >= 2 })
			healed.Store(true) // the head now waits for its 300ms backoff, the rest behind it
			conn := *st.routes["c"].conn
			conn.Ordering, conn.MaxInFlight = ordering, 7
			if err := st.Apply(context.Background(), []*pipeline.Connector{&conn}); err != nil {
				t.Fatal(err)
			}
			for seq := 5; seq < 10; seq++ {
				for _, d := range devices {
					write(d, seq, time.Now())
				}
			}
			waitFor(t, "every event delivered", func() bool { return e.count() >= 10*len(devices) })
			waitFor(t, "everything committed", func() bool { return groupLag(t, brokers, pipeline.Topics{Prefix: "t"}.DeliverGroup()) == 0 })
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, d := range devices {
				got := e.delivered[d]
				if ordering == pipeline.OrderingNone {
					got = slices.Sorted(slices.Values(got))
				}
				if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
					t.Errorf("%s delivered %v, want %v", d, e.delivered[d], want)
				}
			}
		})
	}
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

// groupLag is group's lag summed over its topics; -1 until it can be read.
func groupLag(t *testing.T, brokers []string, group string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	lags, err := kadm.NewClient(cl).Lag(context.Background(), group)
	l, ok := lags[group]
	if err != nil || !ok || l.Error() != nil {
		return -1
	}
	return l.Lag.Total()
}
