// Package stages assembles hookpipe's stages into one running process: the
// ingest HTTP API, fanout, and per connector the deliver and retry stages,
// sharing two producers (one for ingest and fanout, one for retry and DLQ
// writes) and one metrics registry. Each stage lives in its own
// sub-package; cmd/hookpipe turns flags into Options and calls New and Run.
// ARCHITECTURE.md at the repository's root maps the stages, their ack
// contracts and where a change goes.
package stages
