package fanout

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// After SetConnectors, events are routed by the new set: an added
// connector receives them, a changed filter applies; what was written
// before stays as it was.
func TestFanoutSetConnectors(t *testing.T) {
	u := exampleURL
	all := &pipeline.Connector{Name: "a", URL: u}
	temps := &pipeline.Connector{Name: "a", URL: u, Events: []string{"temperature"}}
	added := &pipeline.Connector{Name: "b", URL: u}
	topics := pipeline.Topics{Prefix: "r"}
	_, kc, prod := fanoutCluster(t, topics, []*pipeline.Connector{all, added})
	s, err := New(Config{Connectors: []*pipeline.Connector{all}, Topics: topics, Kafka: kc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopStage := runStage(t, s)
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
	stopStage()
	var keys []string
	for _, r := range got {
		keys = append(keys, strings.TrimPrefix(r.Topic, "r.connector.")+"/"+pipeline.ReadMeta(r).EventID)
	}
	slices.Sort(keys)
	if want := []string{"a/e1", "a/e3", "b/e2", "b/e3"}; !slices.Equal(keys, want) {
		t.Errorf("outputs %v, want %v", keys, want)
	}
}
