package envelope

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/xid"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Bits of the event fields seen, to tell duplicates.
const (
	fEventID uint8 = 1 << iota
	fTargetName
	fEventType
	fData
	fTimestamp
)

// event decodes the event object into e and fills in its defaults.
func (d *decoder) event(s *scanner, e *pipeline.Event) error {
	if s.null() {
		return d.fail("event", "required")
	}
	if s.peek() != '{' {
		return d.fail("event", "must be an object")
	}
	s.pos++
	var seen uint8
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return d.failSyntax("event", err)
		}
		if !ok {
			break
		}
		bit := eventField(key)
		if bit == 0 {
			return d.fail(fieldName("event.", key), "unknown field (an event has eventId, targetName, eventType, data, timestamp)")
		}
		if seen&bit != 0 {
			return d.fail("event."+string(key), "duplicate field")
		}
		seen |= bit
		if err := d.eventValue(s, e, bit); err != nil {
			return err
		}
	}
	return d.eventDefaults(e)
}

// eventField returns the bit of an event key, 0 for an unknown one.
func eventField(key []byte) uint8 {
	switch string(key) {
	case "eventId":
		return fEventID
	case "targetName":
		return fTargetName
	case "eventType":
		return fEventType
	case "data":
		return fData
	case "timestamp":
		return fTimestamp
	}
	return 0
}

// eventValue decodes the value of the event field bit.
func (d *decoder) eventValue(s *scanner, e *pipeline.Event, bit uint8) error {
	switch bit {
	case fEventID:
		return d.eventID(s, e)
	case fTargetName:
		return d.targetName(s, e)
	case fEventType:
		return d.eventType(s, e)
	case fData:
		return d.data(s, e)
	default:
		return d.timestampValue(s, e)
	}
}

// eventDefaults checks the required fields and assigns eventId and
// timestamp when absent.
func (d *decoder) eventDefaults(e *pipeline.Event) error {
	switch {
	case e.TargetName == "":
		return d.fail("event.targetName", "required")
	case e.EventType == "":
		return d.fail("event.eventType", "required")
	case e.Data == nil:
		return d.fail("event.data", "required")
	}
	if e.EventID == "" {
		e.EventID = xid.New().String()
	}
	if e.Timestamp == "" {
		e.Timestamp = d.timestamp()
	}
	return nil
}

// stringValue reads a string field. A null is an error when required, and
// absent (ok false) otherwise. The bytes may alias the body.
func (d *decoder) stringValue(s *scanner, field string, required bool) (b []byte, ok bool, err error) {
	if s.null() {
		if required {
			return nil, false, d.fail(field, "required")
		}
		return nil, false, nil
	}
	if s.peek() != '"' {
		return nil, false, d.fail(field, "must be a string")
	}
	b, err = s.strBytes()
	if err != nil {
		return nil, false, d.failSyntax(field, err)
	}
	return b, true, nil
}

func (d *decoder) eventID(s *scanner, e *pipeline.Event) error {
	b, ok, err := d.stringValue(s, "event.eventId", false)
	if err != nil || !ok {
		return err
	}
	if !validEventID(b) {
		return d.fail("event.eventId", "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'")
	}
	e.EventID = string(b)
	return nil
}

func (d *decoder) targetName(s *scanner, e *pipeline.Event) error {
	b, _, err := d.stringValue(s, "event.targetName", true)
	if err != nil {
		return err
	}
	name := string(b)
	if _, _, err := pipeline.ParseTargetName(name); err != nil {
		return d.fail("event.targetName", err.Error())
	}
	e.TargetName = name
	return nil
}

func (d *decoder) eventType(s *scanner, e *pipeline.Event) error {
	b, _, err := d.stringValue(s, "event.eventType", true)
	if err != nil {
		return err
	}
	t, ok := pipeline.ParseEventType(b)
	if !ok {
		return d.fail("event.eventType", "unknown event type "+quote(b))
	}
	e.EventType = t
	return nil
}

// data validates the data object and stores it compact. Its inner schema
// is the device's business and is not checked.
func (d *decoder) data(s *scanner, e *pipeline.Event) error {
	if s.null() {
		return d.fail("event.data", "required")
	}
	if s.peek() != '{' {
		return d.fail("event.data", "must be a JSON object")
	}
	start := s.pos
	end, _ := extent(s.buf, start, unlimited, unlimited)
	if end < 0 {
		return d.failSyntax("event.data", &syntaxError{len(s.buf), "unexpected end of input"})
	}
	raw := s.buf[start:end]
	if !utf8.Valid(raw) {
		return d.fail("event.data", "invalid UTF-8")
	}
	data, err := d.compact(raw)
	if err != nil {
		return d.failSyntax("event.data", dataSyntaxError(raw, start, err))
	}
	e.Data = data
	s.pos = end
	return nil
}

// dataSyntaxError locates the syntax error err of data, which starts at
// body offset start. json.Compact reports no offset, so the error path
// asks json.Unmarshal, which does.
func dataSyntaxError(data []byte, start int, err error) error {
	var raw json.RawMessage
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, &raw), &se) {
		return &syntaxError{start + int(se.Offset) - 1, se.Error()}
	}
	return err
}

// timestampValue reads an RFC 3339 timestamp: kept as given when in UTC
// with 'Z' (see canonicalUTC), converted to UTC (RFC3339Nano) otherwise.
func (d *decoder) timestampValue(s *scanner, e *pipeline.Event) error {
	b, ok, err := d.stringValue(s, "event.timestamp", false)
	if err != nil || !ok {
		return err
	}
	ts := string(b)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return d.fail("event.timestamp", "must be an RFC 3339 time such as "+quote(TimestampLayout))
	}
	if !canonicalUTC(ts) {
		ts = t.UTC().Format(time.RFC3339Nano)
	}
	e.Timestamp = ts
	return nil
}

// canonicalUTC reports whether ts, which time.Parse accepted as
// RFC3339Nano, is in UTC with 'Z' and a '.' fraction of 1 to 9 digits if
// any: such a timestamp is kept byte for byte. (time.Parse also accepts
// a ',' fraction and more than 9 digits, which are not RFC 3339.)
func canonicalUTC(ts string) bool {
	const prefix = len("2006-01-02T15:04:05")
	frac, ok := strings.CutSuffix(ts[prefix:], "Z")
	if !ok || frac == "" {
		return ok
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
		return false
	}
	for _, c := range []byte(frac[1:]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validEventID reports whether b is 1 to 64 characters of [A-Za-z0-9_-].
func validEventID(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !isIDByte(c) {
			return false
		}
	}
	return true
}
