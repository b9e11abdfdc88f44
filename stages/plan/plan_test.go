package plan

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages"
)

func conn(name string, events ...string) *pipeline.Connector {
	u, _ := url.Parse("https://" + name + ".example")
	return &pipeline.Connector{Name: name, URL: u, Events: events, Timeout: time.Second, MaxInFlight: 1,
		Retry: pipeline.RetryPolicy{Backoff: []time.Duration{time.Second}, MaxAge: time.Hour}}
}

// Only what differs is listed; a header value change shows as hidden.
func TestConnectorsDiff(t *testing.T) {
	a := conn("a", "touch")
	a.Headers = map[string]string{"X-Key": "v1-secret"}
	cur := []stages.ConnectorConfig{stages.NewConnectorConfig(a), stages.NewConnectorConfig(conn("same"))}
	b := conn("a", "touch")
	b.Headers = map[string]string{"X-Key": "v2-secret"}
	b.MaxInFlight = 7
	got := Connectors(cur, []*pipeline.Connector{b, conn("same")})
	if len(got) != 1 || got[0].Kind != Modify || got[0].EventsChanged {
		t.Fatalf("changes %+v", got)
	}
	names := fmt.Sprint(got[0].Attrs)
	if !strings.Contains(names, "max_in_flight 1 7") || !strings.Contains(names, "secrets (hidden)") || strings.Contains(names, "secret}") {
		t.Errorf("attrs %s", names)
	}
	if strings.Contains(names, "v1-secret") || strings.Contains(names, "v2-secret") {
		t.Errorf("attrs show a header value: %s", names)
	}
}

// The sample keeps the n most recent events across partitions.
func TestSampleEventsKeepsLatest(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t.events", "t.connector.old", "t.connector.old.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Now().Add(-time.Hour)
	var recs []*kgo.Record
	for i := range 30 {
		typ := "touch" // the 10 oldest
		if i >= 10 {
			typ = "temperature"
		}
		m := pipeline.Meta{IngestTime: base, EventID: fmt.Sprint(i), EventType: typ}
		r := m.Record("t.events", []byte(fmt.Sprint(i%7)), []byte("{}"), "")
		r.Timestamp = base.Add(time.Duration(i) * time.Second)
		recs = append(recs, r)
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s, err := SampleEvents(context.Background(), kc, "t.events", 20, 10*time.Second)
	if err != nil || s.N != 20 || s.ByType["temperature"] != 20 || s.ByType["touch"] != 0 {
		t.Fatalf("sample %+v, %v; want the 20 latest, all temperature", s, err)
	}
	if n, by := s.Routed(conn("x", "touch")); n != 0 || len(by) != 0 {
		t.Errorf("touch filter routes %d %v", n, by)
	}
	topics := pipeline.Topics{Prefix: "t"}
	adm := kadm.NewClient(cl)
	changes, err := FromTopics(context.Background(), adm, topics, []*pipeline.Connector{conn("new")})
	if err != nil || len(changes) != 2 || changes[0].Connector != "new" || changes[0].Kind != Add || changes[1].Connector != "old" || changes[1].Kind != Remove {
		t.Errorf("from topics: %+v, %v", changes, err)
	}
	tc, err := Topics(context.Background(), adm, topics.Specs([]*pipeline.Connector{conn("old")}))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(tc)
	if !strings.Contains(got, "t.connector.old.retry.0 true") || strings.Contains(got, "t.connector.old true") {
		t.Errorf("topic changes %s: want the missing retry tier created and the existing main topic not", got)
	}
}

// Switching a connector to ordering = "device" is a change of the ordering
// attribute; a process that shows no ordering (older than the attribute)
// counts as "none".
func TestConnectorsDiffOrdering(t *testing.T) {
	old := stages.NewConnectorConfig(conn("a"))
	old.Ordering = ""
	b := conn("a")
	b.Ordering = pipeline.OrderingDevice
	got := Connectors([]stages.ConnectorConfig{old}, []*pipeline.Connector{b})
	if len(got) != 1 || fmt.Sprint(got[0].Attrs) != "[{ordering none device}]" {
		t.Fatalf("changes %+v", got)
	}
	if got := Connectors([]stages.ConnectorConfig{old}, []*pipeline.Connector{conn("a")}); len(got) != 0 {
		t.Errorf("an unset ordering against the default: changes %+v", got)
	}
}

// loaded is conn with the endpoint-health defaults the loader fills in.
func loaded(name string) *pipeline.Connector {
	c := conn(name)
	c.CircuitBreaker, c.DisableAfter = pipeline.DefaultCircuitBreaker(), pipeline.DefaultDisableAfter
	return c
}

// The endpoint-health attributes and http2 are listed one by one, in the
// README's order; a process that shows none of them (older than they)
// counts as their defaults, so only what the directory sets is listed.
func TestConnectorsDiffHealth(t *testing.T) {
	b := loaded("a")
	b.RateLimit, b.DisableAfter, b.HTTP2 = 100, 24*time.Hour, true
	b.CircuitBreaker.MinRequests, b.CircuitBreaker.Window, b.CircuitBreaker.Disabled = 5, time.Minute, true
	got := Connectors([]stages.ConnectorConfig{stages.NewConnectorConfig(loaded("a"))}, []*pipeline.Connector{b})
	want := "[{rate_limit none 100} {disable_after 120h0m0s 24h0m0s} {circuit_breaker.min_requests 20 5} " +
		"{circuit_breaker.window 30s 1m0s} {circuit_breaker.disabled false true} {http2 false true}]"
	if len(got) != 1 || got[0].Kind != Modify || fmt.Sprint(got[0].Attrs) != want {
		t.Fatalf("changes %+v\nwant attrs %s", got, want)
	}
	older := stages.NewConnectorConfig(loaded("a"))
	older.CircuitBreaker, older.DisableAfter, older.Hash = nil, "", "sha256:older"
	c := loaded("a")
	c.RateLimit = 500
	got = Connectors([]stages.ConnectorConfig{older}, []*pipeline.Connector{c})
	if len(got) != 1 || fmt.Sprint(got[0].Attrs) != "[{rate_limit none 500}]" {
		t.Errorf("against a process without the health fields: changes %+v", got)
	}
}

// A tls ca_file whose contents changed under the same path is a change,
// shown as hidden tls certificates: no shown attribute differs.
func TestConnectorsDiffCAFileContents(t *testing.T) {
	a, b := loaded("a"), loaded("a")
	a.TLS, a.TLSCADigest = &tls.Config{MinVersion: tls.VersionTLS12}, "0a"
	b.TLS, b.TLSCADigest = &tls.Config{MinVersion: tls.VersionTLS12}, "0b"
	got := Connectors([]stages.ConnectorConfig{stages.NewConnectorConfig(a)}, []*pipeline.Connector{b})
	if len(got) != 1 || fmt.Sprint(got[0].Attrs) != "[{other (hidden) changed (tls certificates)}]" {
		t.Errorf("changes %+v", got)
	}
}
