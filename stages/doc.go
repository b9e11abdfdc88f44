// Package stages assembles hookpipe's stages into one running process: the
// ingest HTTP API, fanout, and per connector the deliver and retry stages,
// sharing one metrics registry. Each stage lives in its own
// sub-package; cmd/hookpipe turns flags into Options and calls New and Run.
package stages
