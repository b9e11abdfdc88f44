// Package stages assembles hookpipe's stages into one running process: the
// ingest HTTP API, fanout, and per connector the deliver and retry stages,
// sharing one client for retry and DLQ writes and one metrics registry
// (ingest and fanout write in transactions, each with its own client).
// Each stage lives in its own
// sub-package; cmd/hookpipe turns flags into Options and calls New and Run.
// ARCHITECTURE.md at the repository's root maps the stages, their ack
// contracts and where a change goes.
package stages
