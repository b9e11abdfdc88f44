package fanout

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// After SetConnectors, events are routed by the new set: an added
// connector receives them, a changed filter applies; what was written
// before stays as it was.
func TestFanoutSetConnectors(t *testing.T) {
	u, _ := url.Parse("https://example.com")
	all := &pipeline.Connector{Name: "a", URL: u}
	temps := &pipeline.Connector{Name: "a", URL: u, Events: []string{"temperature"}}
	added := &pipeline.Connector{Name: "b", URL: u}
	topics := pipeline.Topics{Prefix: "r"}
	var names []string
	for _, s := range topics.Specs([]*pipeline.Connector{all, added}) {
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
	s, err := New(Config{Connectors: []*pipeline.Connector{all}, Topics: topics, Kafka: kc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	ingest := pipeline.Meta{IngestTime: time.Now()}
	event := func(id, typ string) {
		t.Helper()
		v := `{"event":{"eventId":"` + id + `","targetName":"projects/p/devices/d1","eventType":"` + typ + `","data":{},"timestamp":"t"},"metadata":{"deviceId":"d1","projectId":"p"}}`
		if err := prod.ProduceSync(ctx, ingest.Record(topics.Events(), nil, []byte(v), "")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	event("e1", "touch")
	kafkatest.ReadN(t, kc.Brokers, 1, topics.Connector("a"))
	s.SetConnectors([]*pipeline.Connector{temps, added})
	event("e2", "touch")
	event("e3", "temperature")
	got := kafkatest.ReadN(t, kc.Brokers, 4, topics.Connector("a"), topics.Connector("b"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range got {
		keys = append(keys, strings.TrimPrefix(r.Topic, "r.connector.")+"/"+pipeline.ReadMeta(r).EventID)
	}
	slices.Sort(keys)
	if want := []string{"a/e1", "a/e3", "b/e2", "b/e3"}; !slices.Equal(keys, want) {
		t.Errorf("outputs %v, want %v", keys, want)
	}
}
