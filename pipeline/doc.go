// Package pipeline owns hookpipe's shared vocabulary: the ingest envelope and
// the webhook body it renders to, the event types, a connector's decoded
// configuration, topic and group names, and the record codec every stage uses
// to read and write another stage's records (see ARCHITECTURE.md).
//
// It does no I/O of its own. Its concerns live in subpackages: config (HCL
// loading and diagnostics), kafka (clients, admin, the consumer runtime and
// the embedded broker), metrics (Prometheus and the 3-hour window) and
// signature (X-Dt-Signature). Stages (package stages/...) build on them;
// cmd/hookpipe only wires.
package pipeline
