package latest

import (
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// storedValue returns the value of an events record for an event with the
// given timestamp, data and labels, as ingest writes it.
func storedValue(ts, data string, labels map[string]string) []byte {
	env := pipeline.Envelope{
		Event:  pipeline.Event{EventID: "e1", TargetName: "projects/p/devices/d", EventType: "temperature", Data: []byte(data), Timestamp: ts},
		Labels: labels,
	}
	r := pipeline.EncodeEvent("t", &env, time.Now())
	return r.Value
}

// micros is s, an RFC 3339 time, in Unix microseconds.
func micros(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UnixMicro()
}

// EventTime reads the timestamp of stored values, whatever their data and
// labels hold, the same as decoding them; a value without a usable
// timestamp gives the fallback.
func TestEventTime(t *testing.T) {
	fallback := time.Unix(1700000000, 0)
	tricky := `{"x":{"timestamp":"2001-01-01T00:00:00Z"},"labels":{"a":"b"}}`
	for _, tt := range []struct {
		name  string
		value []byte
		want  int64
	}{
		{"plain", storedValue("2026-11-25T10:00:00.123456Z", `{"v":1}`, map[string]string{"room": "3"}), micros(t, "2026-11-25T10:00:00.123456Z")},
		{"no labels", storedValue("2026-11-25T10:00:00Z", `{"v":1}`, nil), micros(t, "2026-11-25T10:00:00Z")},
		{"data with a timestamp and labels", storedValue("2026-11-25T10:00:00Z", tricky, map[string]string{"x": `"},"labels":{`}), micros(t, "2026-11-25T10:00:00Z")},
		{"label value with the markers", storedValue("2026-11-25T10:00:00Z", `{}`, map[string]string{"k": `,"timestamp":"1999-01-01T00:00:00Z"},"labels":{`}), micros(t, "2026-11-25T10:00:00Z")},
		{"bad timestamp", storedValue("yesterday", `{}`, nil), fallback.UnixMicro()},
		{"not the stored layout", []byte(`{"event":{"timestamp":"2026-11-25T10:00:00Z"}}`), micros(t, "2026-11-25T10:00:00Z")},
		{"not JSON", []byte(`garbage`), fallback.UnixMicro()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := EventTime(tt.value, fallback); got != tt.want {
				t.Errorf("EventTime = %d, want %d", got, tt.want)
			}
			if got := decodedEventTime(tt.value, fallback); got != tt.want {
				t.Errorf("decodedEventTime = %d, want %d (the test's expectation is wrong)", got, tt.want)
			}
		})
	}
}

// BenchmarkEventTime measures reading the timestamp of a stored event.
func BenchmarkEventTime(b *testing.B) {
	v := storedValue("2026-11-25T10:00:00.123456Z", `{"temperature":{"value":21.5,"updateTime":"2026-11-25T10:00:00Z"}}`,
		map[string]string{"name": "Cold room sensor", "room": "cold-room-3", "site": "depot"})
	fallback := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = EventTime(v, fallback)
	}
}

// BenchmarkEventTimeDecoded is BenchmarkEventTime by decoding the JSON, as
// EventTime did before.
func BenchmarkEventTimeDecoded(b *testing.B) {
	v := storedValue("2026-11-25T10:00:00.123456Z", `{"temperature":{"value":21.5,"updateTime":"2026-11-25T10:00:00Z"}}`,
		map[string]string{"name": "Cold room sensor", "room": "cold-room-3", "site": "depot"})
	fallback := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		_ = decodedEventTime(v, fallback)
	}
}
