// Package pipeline owns hookpipe's shared vocabulary and runtime: the ingest
// envelope and the webhook body it renders to, connector configuration
// decoded from HCL, topic names and topic administration, the per-offset ack
// tracker that decides what may be committed, the Kafka client set-up
// (including the embedded development broker), metrics, and the runner that
// starts and stops stages.
//
// Stages (package stages/...) build on this package; cmd/hookpipe only wires.
package pipeline
