package fanout

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// exampleURL is the endpoint of the test connectors; fanout never calls it.
var exampleURL, _ = url.Parse("https://example.com")

// fanoutCluster starts a one-broker kfake cluster holding topics' specs for
// conns (one partition each) and a client on it; both are closed when the
// test ends. It returns the cluster, the Kafka config for it and the client.
func fanoutCluster(t *testing.T, topics pipeline.Topics, conns []*pipeline.Connector) (*kfake.Cluster, kafka.Config, *kgo.Client) {
	t.Helper()
	var names []string
	for _, s := range topics.Specs(conns) {
		names = append(names, s.Name)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, names...))
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
	return c, kc, prod
}

// produceTouches writes n touch events e0…e(n-1) to topic, each
// acknowledged before the next.
func produceTouches(t *testing.T, prod *kgo.Client, topic string, n int) {
	t.Helper()
	for i := range n {
		v := fmt.Sprintf(`{"event":{"eventId":"e%d","targetName":"projects/p/devices/d","eventType":"touch","data":{"touch":{}},"timestamp":"t"}}`, i)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// runStage runs s until the returned stop is called; stop fails the test
// if Run returned an error. ctx is the one Run is given; it is also
// cancelled when the test ends, should the test stop before calling stop.
func runStage(t *testing.T, s *Stage) (ctx context.Context, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return ctx, func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// fanOutUntilCommitted runs a stage with cfg until its group has committed
// offset n on partition 0 of the events topic, then stops it; any error
// fails the test.
func fanOutUntilCommitted(t *testing.T, cfg Config, prod *kgo.Client, n int64) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, stop := runStage(t, s)
	waitCommitted(t, prod, cfg.Topics.FanoutGroup(), cfg.Topics.Events(), n)
	stop()
}
