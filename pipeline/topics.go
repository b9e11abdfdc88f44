package pipeline

import (
	"strconv"
	"time"
)

// Retention of hookpipe's topics (ARCHITECTURE.md, "Topics").
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

// DeliverGroup is the deliver stage's consumer group, one for all
// connectors: <p>.deliver.
func (t Topics) DeliverGroup() string { return t.Prefix + ".deliver" }

// RetryGroup is the retry stage's consumer group, one for all connectors:
// <p>.retry.
func (t Topics) RetryGroup() string { return t.Prefix + ".retry" }

// LegacyDeliverGroup is the deliver group of a connector before one group
// served all connectors (<p>.deliver.<name>); its committed offsets seed
// DeliverGroup on upgrade.
func (t Topics) LegacyDeliverGroup(name string) string { return t.DeliverGroup() + "." + name }

// LegacyRetryGroup is the retry group of a connector before one group
// served all connectors (<p>.retry.<name>).
func (t Topics) LegacyRetryGroup(name string) string { return t.RetryGroup() + "." + name }

// ReplayGroup is the consumer group in which `hookpipe replay` reads a
// connector's DLQ, so that a replay resumes where the last one stopped.
func (t Topics) ReplayGroup(name string) string { return t.Prefix + ".replay." + name }

// TopicSpec is a topic hookpipe needs, with its retention.
type TopicSpec struct {
	Name      string
	Retention time.Duration
	// Kind says which partition count the topic is created with.
	Kind TopicKind
}

// TopicKind classes hookpipe's topics by the partition count they are
// created with.
type TopicKind int

// The kinds of topic.
const (
	// EventsTopic is <p>.events.
	EventsTopic TopicKind = iota
	// ConnectorTopic is a connector's main topic.
	ConnectorTopic
	// RetryTopic is a connector's retry tier or DLQ: the failing share
	// of its traffic.
	RetryTopic
)

// CompactedTopic is a compacted topic hookpipe needs, with the partition
// count it is created with (0: the default, --partitions).
type CompactedTopic struct {
	Name       string
	Partitions int32
}

// Compacted lists hookpipe's compacted topics: <p>.latest, the latest
// event per device and event type, and <p>.state, the connectors' runtime
// states, in one partition (a few small records, which every process
// reads whole).
func (t Topics) Compacted() []CompactedTopic {
	return []CompactedTopic{{Name: t.Latest()}, {Name: t.State(), Partitions: 1}}
}

// Specs lists every topic the given connectors need: the events topic and,
// per connector, its main topic, retry tiers and DLQ.
func (t Topics) Specs(connectors []*Connector) []TopicSpec {
	specs := []TopicSpec{{Name: t.Events(), Retention: EventRetention}}
	for _, c := range connectors {
		specs = append(specs, TopicSpec{t.Connector(c.Name), EventRetention, ConnectorTopic})
		for n := range c.Retry.Backoff {
			specs = append(specs, TopicSpec{t.Retry(c.Name, n), EventRetention, RetryTopic})
		}
		specs = append(specs, TopicSpec{t.DLQ(c.Name), DLQRetention, RetryTopic})
	}
	return specs
}
