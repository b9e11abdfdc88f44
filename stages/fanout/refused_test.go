package fanout

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// A body that Kafka refuses (a non-retriable produce error) aborts its
// transaction: the group's offset does not pass the batch until every
// body is written, so a read_committed consumer sees each of them once.
func TestFanoutRefusedBodyAborts(t *testing.T) {
	u, _ := url.Parse("https://example.com")
	conns := []*pipeline.Connector{{Name: "all", URL: u}}
	topics := pipeline.Topics{Prefix: "y"}
	var names []string
	for _, s := range topics.Specs(conns) {
		names = append(names, s.Name)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, names...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	prod, _ := kc.NewClient()
	defer prod.Close()
	const n = 20
	for i := range n {
		v := fmt.Sprintf(`{"event":{"eventId":"e%d","targetName":"projects/p/devices/d","eventType":"touch","data":{"touch":{}},"timestamp":"t"}}`, i)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Topic: topics.Events(), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	stop := kafkatest.RefuseProduce(c, kerr.InvalidRecord, 1) // fanout's first produce request
	defer stop()
	s, err := New(Config{Connectors: conns, Topics: topics, Kafka: kc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitCommitted(t, prod, topics.FanoutGroup(), topics.Events(), n)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := bodies(t, prod, topics.Connector("all"), kgo.ReadCommitted()); got != n {
		t.Errorf("a read_committed consumer sees %d bodies, want each of the %d once", got, n)
	}
}
