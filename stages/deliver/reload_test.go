package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// counting is an endpoint that counts the requests it answered 2xx.
func counting(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// Apply on the retry stage: a changed connector's route goes on with the
// new URL, and when its backoff list got shorter, the records waiting in
// the tiers beyond it are still delivered (with the last tier's delay).
func TestRetryApplyShorterBackoff(t *testing.T) {
	topics := pipeline.Topics{Prefix: "r"}
	oldSrv, oldN := counting(t)
	newSrv, newN := counting(t)
	conn := func(srv *httptest.Server, tiers int) *pipeline.Connector {
		u, _ := url.Parse(srv.URL)
		c := &pipeline.Connector{Name: "c", URL: u, Timeout: time.Second, MaxInFlight: 4,
			Retry: pipeline.RetryPolicy{MaxAge: time.Hour}}
		for range tiers {
			c.Retry.Backoff = append(c.Retry.Backoff, 10*time.Millisecond)
		}
		return c
	}
	before := conn(oldSrv, 3)
	kc, prod := connectorCluster(t, 1, topics, before)
	s, err := NewRetry(Config{Connectors: []*pipeline.Connector{before}, Topics: topics, Kafka: kc, Producer: prod})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	produce := func(tier int) {
		t.Helper()
		if err := prod.ProduceSync(ctx, record(topics.Retry("c", tier), time.Now(), 1)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(2)
	waitFor(t, "the tier-2 record at the old URL", func() bool { return oldN.Load() == 1 })
	if err := s.Apply(ctx, []*pipeline.Connector{conn(newSrv, 1)}); err != nil {
		t.Fatal(err)
	}
	produce(2) // a tier the new backoff list no longer has
	produce(0)
	waitFor(t, "both records at the new URL", func() bool { return newN.Load() == 2 })
	if n := oldN.Load(); n != 1 {
		t.Errorf("the old URL received %d requests after the change, want none", n-1)
	}
	if err := s.Apply(ctx, nil); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// connectorCluster is a kfake cluster with the topics of conn, of
// partitions partitions, and a producer, closed when the test ends.
func connectorCluster(t *testing.T, partitions int32, topics pipeline.Topics, conn *pipeline.Connector) (kafka.Config, *kgo.Client) {
	t.Helper()
	var names []string
	for _, s := range topics.Specs([]*pipeline.Connector{conn}) {
		names = append(names, s.Name)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, names...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	prod, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return kc, prod
}
