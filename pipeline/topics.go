package pipeline

import (
	"strconv"
	"time"
)

// Retention of hookpipe's topics (design.md).
const (
	// EventRetention keeps events, connector and retry topics for 12 hours.
	EventRetention = 12 * time.Hour
	// DLQRetention keeps dead letters for 7 days.
	DLQRetention = 7 * 24 * time.Hour
)

// Topics names hookpipe's topics and consumer groups under one prefix.
type Topics struct {
	// Prefix is the topic prefix, default "hookpipe".
	Prefix string
}

// Events is the topic ingest writes: <p>.events.
func (t Topics) Events() string { return t.Prefix + ".events" }

// Connector is the connector's main topic: <p>.connector.<name>.
func (t Topics) Connector(name string) string { return t.Prefix + ".connector." + name }

// Retry is the connector's retry tier n: <p>.connector.<name>.retry.<n>.
func (t Topics) Retry(name string, n int) string {
	return t.Connector(name) + ".retry." + strconv.Itoa(n)
}

// DLQ is the connector's dead-letter topic: <p>.connector.<name>.dlq.
func (t Topics) DLQ(name string) string { return t.Connector(name) + ".dlq" }

// State is the compacted topic of connectors' runtime states: <p>.state.
func (t Topics) State() string { return t.Prefix + ".state" }

// FanoutGroup is the fanout stage's consumer group.
func (t Topics) FanoutGroup() string { return t.Prefix + ".fanout" }

// DeliverGroup is the deliver stage's consumer group for a connector.
func (t Topics) DeliverGroup(name string) string { return t.Prefix + ".deliver." + name }

// RetryGroup is the retry stage's consumer group for a connector.
func (t Topics) RetryGroup(name string) string { return t.Prefix + ".retry." + name }

// TopicSpec is a topic hookpipe needs, with its retention.
type TopicSpec struct {
	Name      string
	Retention time.Duration
}

// Specs lists every topic the given connectors need: the events topic and,
// per connector, its main topic, retry tiers and DLQ.
func (t Topics) Specs(connectors []*Connector) []TopicSpec {
	specs := []TopicSpec{{t.Events(), EventRetention}}
	for _, c := range connectors {
		specs = append(specs, TopicSpec{t.Connector(c.Name), EventRetention})
		for n := range c.Retry.Backoff {
			specs = append(specs, TopicSpec{t.Retry(c.Name, n), EventRetention})
		}
		specs = append(specs, TopicSpec{t.DLQ(c.Name), DLQRetention})
	}
	return specs
}
