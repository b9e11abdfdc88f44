package fanout

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/hookpipe/hookpipe/pipeline"
)

// An event becomes one body per enabled connector that wants its type —
// rendered with that connector's labels, keyed by deviceId, carrying the
// ingest time and eventId — and nothing for the others; a record that is
// not an envelope is skipped and counted, not retried forever.
func TestFanoutRoutesAndRenders(t *testing.T) {
	u := exampleURL
	conns := []*pipeline.Connector{
		{Name: "all", URL: u, Labels: []string{"name"}},
		{Name: "temps", URL: u, Events: []string{"temperature"}},
		{Name: "off", URL: u, Disabled: true},
	}
	topics := pipeline.Topics{Prefix: "f"}
	_, kc, prod := fanoutCluster(t, topics, conns)
	metrics := metrics.NewMetrics()
	s, err := New(Config{Connectors: conns, Topics: topics, Kafka: kc, Metrics: metrics})
	if err != nil {
		t.Fatal(err)
	}
	ingest := pipeline.Meta{IngestTime: time.UnixMilli(1764064800123)}
	for _, v := range []string{
		`not json`,
		`{"event":{"eventId":"e1","targetName":"projects/p/devices/d1","eventType":"touch","data":{"touch":{}},"timestamp":"t"},"labels":{"name":"N","room":"R"},"metadata":{"deviceId":"d1","projectId":"p"}}`,
		`{"event":{"eventId":"e2","targetName":"projects/p/devices/d2","eventType":"temperature","data":{"temperature":{"value":1}},"timestamp":"t"},"metadata":{"deviceId":"d2","projectId":"p"}}`,
	} {
		prod.ProduceSync(context.Background(), ingest.Record(topics.Events(), nil, []byte(v), ""))
	}
	// As ingest writes it: the stored layout, labels located by a header.
	stored := &pipeline.Envelope{
		Event:    pipeline.Event{EventID: "e3", TargetName: "projects/p/devices/d3", EventType: "touch", Data: []byte(`{"touch":{}}`), Timestamp: "t"},
		Labels:   map[string]string{"room": "R", "name": "M"},
		Metadata: pipeline.Metadata{DeviceID: "d3", ProjectID: "p", DeviceType: "touch"},
	}
	rec := pipeline.EncodeEvent(topics.Events(), stored, ingest.IngestTime)
	prod.ProduceSync(context.Background(), &rec)

	_, stopStage := runStage(t, s)

	got := kafkatest.ReadN(t, kc.Brokers, 4, topics.Connector("all"), topics.Connector("temps"), topics.Connector("off"))
	stopStage()
	want := map[string]string{
		"all/e1":   `{"event":{"eventId":"e1","targetName":"projects/p/devices/d1","eventType":"touch","data":{"touch":{}},"timestamp":"t"},"labels":{"name":"N"},"metadata":{"deviceId":"d1","projectId":"p","deviceType":"","productNumber":""}}`,
		"all/e2":   `{"event":{"eventId":"e2","targetName":"projects/p/devices/d2","eventType":"temperature","data":{"temperature":{"value":1}},"timestamp":"t"},"labels":{},"metadata":{"deviceId":"d2","projectId":"p","deviceType":"","productNumber":""}}`,
		"all/e3":   `{"event":{"eventId":"e3","targetName":"projects/p/devices/d3","eventType":"touch","data":{"touch":{}},"timestamp":"t"},"labels":{"name":"M"},"metadata":{"deviceId":"d3","projectId":"p","deviceType":"touch","productNumber":""}}`,
		"temps/e2": `{"event":{"eventId":"e2","targetName":"projects/p/devices/d2","eventType":"temperature","data":{"temperature":{"value":1}},"timestamp":"t"},"labels":{},"metadata":{"deviceId":"d2","projectId":"p","deviceType":"","productNumber":""}}`,
	}
	for _, r := range got {
		m := pipeline.ReadMeta(r)
		key := strings.TrimPrefix(r.Topic, "f.connector.") + "/" + m.EventID
		if want[key] != string(r.Value) {
			t.Errorf("%s: body %s, want %s", key, r.Value, want[key])
		}
		if !m.IngestTime.Equal(ingest.IngestTime) || string(r.Key) != "d"+m.EventID[1:] {
			t.Errorf("%s: ingest time %v key %q", key, m.IngestTime, r.Key)
		}
		delete(want, key)
	}
	if len(want) != 0 {
		t.Errorf("missing outputs %v", want)
	}
	if n := counter(t, metrics, "hookpipe_fanout_undecodable_total"); n != 1 {
		t.Errorf("undecodable records counted %v, want 1", n)
	}
}

func counter(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}
