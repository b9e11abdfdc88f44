// Package bench is the instrument behind 'hookpipe bench': it measures the
// whole pipeline, honestly, in one run on one machine.
//
// A bench run starts everything it needs itself: a Kafka-protocol broker
// (an embedded kfake in this process, unless real brokers are given), the
// pipeline under test as a subprocess ('hookpipe run', its own port, topic
// prefix and connector files per measured run), webhook receivers on
// 127.0.0.1, and a load generator that POSTs NDJSON batches to the ingest
// API. Each scenario (see Scenarios) measures one property and reports it
// beside the bound it should be judged against: the machine's own ceiling
// for HTTP posts, the in-flight bound for a slow endpoint, the same
// connector running alone for isolation.
//
// Latency is measured end to end, ingest to endpoint: the load generator
// writes each event's sequence number and its send time (nanoseconds since
// the run's monotonic start) into the eventId, and the receiver, in the
// same process and on the same clock, subtracts it from its receive time.
// For throughput runs the send time is the moment the event's batch was
// POSTed; for fixed-rate runs it is the batch's scheduled time, so a
// generator that falls behind does not hide the delay (no coordinated
// omission). Duplicate deliveries (at-least-once) are counted separately
// and measured once, at the first arrival.
//
// Every run also reports the CPU time the pipeline process used per
// delivered event (user plus system, from /proc/<pid>/stat, over the
// measured window). On a shared machine it varies far less than events/s,
// which depends on how much of the machine other work leaves.
//
// With Options.TLS the receivers serve HTTPS with a certificate from a CA
// made for the run, which the connectors trust through tls { ca_file }.
// The scenarios that compare transports run once against an endpoint that
// offers HTTP/1.1 only and once against one that offers HTTP/2 (with
// http2 = true on the connector); the receiver counts the connections it
// accepts and the TLS handshakes it completes, reported per 1,000
// deliveries.
//
// The bench shares the machine with the pipeline: the broker, the load
// generator and the receivers all take CPU from the process under test,
// and every result carries the Machine it was measured on.
package bench
