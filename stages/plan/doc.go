// Package plan computes what applying a connectors directory would change,
// for `hookpipe plan`: the connectors added, removed and changed attribute
// by attribute against the configuration a process runs (GET /v1/config),
// the topics to create or correct, and how many recent events a new or
// changed events filter would have routed. It writes nothing anywhere and
// never prints a secret: a changed secret or header value shows only as
// changed.
package plan
