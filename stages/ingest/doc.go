// Package ingest is hookpipe's first stage: the HTTP intake of sensor
// events.
//
//	POST /v1/events ─► ingest ─► <p>.events ─► fanout ─► ...
//
// Package envelope's Decode turns a request body (one envelope, a JSON
// array of envelopes, or NDJSON) into validated pipeline.Envelopes, all or
// nothing, with eventId and timestamp assigned when absent and
// metadata.deviceId/projectId derived from targetName. NewHandler serves
// POST /v1/events: it decodes, produces one record per event to the events
// topic (pipeline.EncodeEvent) and answers 202 only after Kafka
// acknowledged every event of the request (kafka.ProduceAcked). The
// 12-hour delivery window of every later stage starts at the ingest time
// written here.
//
// A failed write is retried only until the request's produce timeout; then
// a 503 asks the client to retry, and receivers deduplicate on eventId
// (at-least-once).
package ingest
