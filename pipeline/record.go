package pipeline

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The record codec: how every record one stage writes for another looks,
// and the only code that reads or writes one (ARCHITECTURE.md, "Topics and
// the record codec"). Each header is named here once, and each kind of
// record has its encoder beside its decoder:
//
//   - events records (ingest → fanout): EncodeEvent, DecodeEvent;
//   - connector, retry and DLQ records (fanout, deliver, retry, replay →
//     deliver and retry): StoredEvent.Record and Meta.Record, ReadMeta.
//
// The values are JSON: an events record's value is the envelope in the
// stored layout (stored.go), a connector record's value the exact webhook
// body (render.go).

// Record header keys. Every record a stage writes carries HeaderIngestTime,
// HeaderEventID and HeaderEventType; ingest adds HeaderLabels, retry and DLQ
// records add the others.
const (
	// HeaderIngestTime is the ingest time in Unix milliseconds (decimal).
	// The 12-hour clock starts here, never at a retry topic's append time.
	HeaderIngestTime = "hookpipe-ingest-ms"
	// HeaderEventID is the event's eventId, so that stages need not parse
	// the body.
	HeaderEventID = "hookpipe-event-id"
	// HeaderEventType is the event's eventType.
	HeaderEventType = "hookpipe-event-type"
	// HeaderAttempts is the number of delivery attempts made so far.
	HeaderAttempts = "hookpipe-attempts"
	// HeaderLastError describes the last failed attempt.
	HeaderLastError = "hookpipe-last-error"
	// HeaderDLQReason says why a record was dead-lettered.
	HeaderDLQReason = "hookpipe-dlq-reason"
	// HeaderLabels locates the labels object in an events record's value:
	// "start,end", the byte offsets of its contents between the braces. It
	// lets fanout build each connector's body by splicing, without parsing.
	HeaderLabels = "hookpipe-labels"
	// HeaderEventTime is the event's own timestamp (event.timestamp) in
	// Unix microseconds, on <p>.latest records: "newer" means a larger
	// value. The latest-values writer adds it to the events record it copies.
	HeaderEventTime = "hookpipe-event-time"
)

// Meta is what the headers of a record say about its event.
type Meta struct {
	IngestTime time.Time
	EventID    string
	EventType  string
	Attempts   int
	LastError  string
}

// EncodeEvent returns the events-topic record of env as ingest writes it:
// key deviceId, value the stored layout (every label of the device, keys
// sorted; an ordinary envelope to any other reader), headers ingest time,
// eventId, eventType and HeaderLabels, timestamp now.
func EncodeEvent(topic string, env *Envelope, now time.Time) kgo.Record {
	value, at, end := appendStored(nil, env)
	m := Meta{IngestTime: now, EventID: env.Event.EventID, EventType: env.Event.EventType}
	labels := strconv.AppendInt(nil, int64(at), 10)
	labels = append(labels, ',')
	labels = strconv.AppendInt(labels, int64(end), 10)
	return kgo.Record{
		Topic:     topic,
		Key:       []byte(env.Metadata.DeviceID),
		Value:     value,
		Headers:   append(m.headers(""), kgo.RecordHeader{Key: HeaderLabels, Value: labels}),
		Timestamp: now,
	}
}

// StoredEvent is an events record as DecodeEvent read it. Its Record
// method writes the event's connector records.
type StoredEvent struct {
	// Meta holds the ingest time, eventId and eventType.
	Meta Meta
	// Key is the record's key: the deviceId.
	Key []byte

	stored  storedBody // when ingest wrote the record
	env     *Envelope  // otherwise, the decoded value
	size    int        // the value's length, to size each body
	headers []kgo.RecordHeader
}

// DecodeEvent reads an events record. A record ingest wrote (EncodeEvent)
// is located, not parsed. Any other record's value is decoded as a JSON
// envelope, whose eventId, eventType and deviceId (for a missing key)
// then count. ok is false when the value is neither: such a record cannot
// become a webhook.
func DecodeEvent(r *kgo.Record) (e StoredEvent, ok bool) {
	e.Meta, ok = readHeaders(r, &e.stored)
	e.Key, e.size = r.Key, len(r.Value)
	if ok && e.Meta.EventType != "" && e.Meta.EventID != "" {
		return e, true
	}
	var env Envelope
	if err := json.Unmarshal(r.Value, &env); err != nil || env.Event.EventType == "" {
		return StoredEvent{}, false
	}
	e.Meta.EventID, e.Meta.EventType = env.Event.EventID, env.Event.EventType
	if len(e.Key) == 0 {
		e.Key = []byte(env.Metadata.DeviceID)
	}
	e.env = &env
	return e, true
}

// Record returns e's record for a connector topic: the webhook body with
// rd's labels (byte for byte what rd.Append of the envelope gives), e's key,
// and e's ingest time, eventId and eventType. Records of one StoredEvent
// share their headers, which must not be changed. Not safe for concurrent
// use.
func (e *StoredEvent) Record(topic string, rd *Renderer) *kgo.Record {
	if e.headers == nil {
		e.headers = e.Meta.headers("")
	}
	body := make([]byte, 0, e.size)
	if e.env != nil {
		body = rd.Append(body, e.env)
	} else {
		body = rd.project(body, &e.stored)
	}
	return &kgo.Record{Topic: topic, Key: e.Key, Value: body, Headers: e.headers}
}

// Record returns the record of a connector, retry or DLQ topic that carries
// value (a webhook body) under key with m's headers, and reason, when not
// empty, as HeaderDLQReason. Deliver writes retry and DLQ records with it,
// replay the copies of dead letters.
func (m Meta) Record(topic string, key, value []byte, reason string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: key, Value: value, Headers: m.headers(reason)}
}

// ReadMeta decodes the headers of any hookpipe record. A record without an
// ingest time header (written by another producer) counts from its own
// timestamp; malformed numbers are ignored.
func ReadMeta(r *kgo.Record) Meta {
	m, _ := readHeaders(r, nil)
	return m
}

// ReadIngestTime is ReadMeta(r).IngestTime without decoding (and
// allocating) the other headers: the consumer asks it of every record it
// reads, for the record's expiry.
func ReadIngestTime(r *kgo.Record) time.Time {
	at := r.Timestamp
	for _, h := range r.Headers {
		if h.Key == HeaderIngestTime {
			if ms, ok := parseDecimal(h.Value); ok {
				at = time.UnixMilli(ms)
			}
		}
	}
	return at
}

// headers encodes m, and reason when not empty, as record headers.
func (m Meta) headers(reason string) []kgo.RecordHeader {
	hs := make([]kgo.RecordHeader, 0, 6)
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderIngestTime, Value: strconv.AppendInt(nil, m.IngestTime.UnixMilli(), 10)},
		kgo.RecordHeader{Key: HeaderEventID, Value: []byte(m.EventID)},
		kgo.RecordHeader{Key: HeaderEventType, Value: []byte(m.EventType)},
	)
	if m.Attempts > 0 {
		hs = append(hs, kgo.RecordHeader{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(m.Attempts), 10)})
	}
	if m.LastError != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderLastError, Value: []byte(m.LastError)})
	}
	if reason != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderDLQReason, Value: []byte(reason)})
	}
	return hs
}

// readHeaders decodes r's headers. When sb is not nil and r carries a
// valid HeaderLabels, sb is set to r's located value and ok is true.
func readHeaders(r *kgo.Record, sb *storedBody) (m Meta, ok bool) {
	m.IngestTime = r.Timestamp
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderIngestTime:
			if ms, ok := parseDecimal(h.Value); ok {
				m.IngestTime = time.UnixMilli(ms)
			}
		case HeaderEventID:
			m.EventID = string(h.Value)
		case HeaderEventType:
			m.EventType = internEventType(h.Value)
		case HeaderAttempts:
			if n, ok := parseDecimal(h.Value); ok && n < 1<<31 {
				m.Attempts = int(n)
			}
		case HeaderLastError:
			m.LastError = string(h.Value)
		case HeaderLabels:
			if sb != nil && !ok {
				ok = parseLabels(h.Value, r.Value, sb)
			}
		}
	}
	return m, ok
}

// parseLabels decodes a HeaderLabels value "start,end" and locates the
// labels of value with it; false when either does not fit.
func parseLabels(h, value []byte, sb *storedBody) bool {
	a, b, found := bytes.Cut(h, []byte{','})
	if !found {
		return false
	}
	at, ok1 := parseDecimal(a)
	end, ok2 := parseDecimal(b)
	if !ok1 || !ok2 || at <= 0 || at > end || end >= int64(len(value)) ||
		value[at-1] != '{' || value[end] != '}' {
		return false
	}
	return locate(value, int(at), int(end), sb)
}

// parseDecimal parses a non-negative decimal of at most 18 digits without
// allocating.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// internEventType returns b as a string, without allocating when it is
// one of EventTypes().
func internEventType(b []byte) string {
	if t, ok := ParseEventType(b); ok {
		return t
	}
	return string(b)
}
