// Package integration runs the whole hookpipe pipeline — ingest, fanout,
// deliver and retry — against a Kafka broker, with httptest receivers as
// the connectors' endpoints. The broker is chosen once per run, in this
// order: KAFKA_BROKERS (an already-running Kafka, such as the one .ci/run
// starts), a testcontainers Kafka when a Docker engine answers, else an
// embedded kfake broker. Every test logs which one it ran on.
package integration
