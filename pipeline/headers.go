package pipeline

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record header keys. Every record a stage writes after ingest carries
// HeaderIngestTime and HeaderEventID; retry and DLQ records add the others.
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
)

// Meta is what a delivery stage reads from a connector record's headers.
type Meta struct {
	IngestTime time.Time
	EventID    string
	EventType  string
	Attempts   int
	LastError  string
}

// ReadMeta decodes the hookpipe headers of r. A record without an ingest
// time header (written by another producer) counts from its own timestamp.
func ReadMeta(r *kgo.Record) Meta {
	m := Meta{IngestTime: r.Timestamp}
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
		}
	}
	return m
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
	for _, t := range eventTypes {
		if string(b) == t {
			return t
		}
	}
	return string(b)
}

// Headers encodes m as record headers; reason, when not empty, is added as
// HeaderDLQReason.
func (m Meta) Headers(reason string) []kgo.RecordHeader {
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
