package latest

import (
	"bytes"
	"encoding/json"
	"time"
)

// Markers of the stored layout (pipeline's record codec): the event's
// timestamp is its last field, right before the labels object.
var (
	labelsMark    = []byte(`"},"labels":{`)
	timestampMark = []byte(`,"timestamp":"`)
)

// EventTime returns the event.timestamp of an events record's value in
// Unix microseconds, or fallback's when it is missing or unparsable.
//
// It reads the timestamp where the stored layout puts it, without decoding
// the value: the last `"},"labels":{` in it is the labels object's start
// (after it come only strings, in which a quote is escaped), and the
// timestamp string ends right before it. A value in another shape is
// decoded as JSON.
func EventTime(value []byte, fallback time.Time) int64 {
	if at, ok := storedEventTime(value); ok {
		return at
	}
	return decodedEventTime(value, fallback)
}

// storedEventTime reads the timestamp of a value in the stored layout.
func storedEventTime(value []byte) (int64, bool) {
	end := bytes.LastIndex(value, labelsMark)
	if end < 0 {
		return 0, false
	}
	start := bytes.LastIndex(value[:end], timestampMark)
	if start < 0 {
		return 0, false
	}
	ts := value[start+len(timestampMark) : end]
	if bytes.IndexByte(ts, '"') >= 0 || bytes.IndexByte(ts, '\\') >= 0 {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// decodedEventTime is EventTime by decoding value as JSON.
func decodedEventTime(value []byte, fallback time.Time) int64 {
	var env struct {
		Event struct {
			Timestamp string `json:"timestamp"`
		} `json:"event"`
	}
	if json.Unmarshal(value, &env) == nil {
		if t, err := time.Parse(time.RFC3339Nano, env.Event.Timestamp); err == nil {
			return t.UnixMicro()
		}
	}
	return fallback.UnixMicro()
}
