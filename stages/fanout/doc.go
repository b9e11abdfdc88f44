// Package fanout holds the fanout stage: one consumer group over the events
// topic that, for each event and each enabled connector whose events filter
// matches, renders the webhook body once and writes it to the connector's
// topic. An event's offset is committed only after every body it caused is
// acknowledged by Kafka.
package fanout
