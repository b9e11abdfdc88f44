// Package replay moves a connector's dead letters back into delivery: it
// reads the connector's DLQ topic and writes each event to the connector's
// main topic with a fresh ingest time, so that it gets a new max_age window,
// each batch in one Kafka transaction. It is a one-shot job, not a long-lived stage: `hookpipe replay`.
package replay
