package pipeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A stored events value decodes to the same envelope, and projecting it
// for a connector gives, byte for byte, the body rendering the decoded
// envelope would give — for any label keys, escapes included.
func TestStoredProjectEqualsRender(t *testing.T) {
	env := &Envelope{
		Event: Event{EventID: "e", TargetName: "projects/p/devices/d", EventType: "touch",
			Data: json.RawMessage(`{"x":{"labels":{"a":"}"}}}`), Timestamp: "2026-01-01T00:00:00Z"},
		Labels:   map[string]string{"name": `Fr"idge`, "room": "R\\1", "a<b": "c", "zz": "", `q"`: "1"},
		Metadata: Metadata{DeviceID: "d", ProjectID: "p", DeviceType: "touch"},
	}
	value, at, end := AppendStored(nil, env)
	var back Envelope
	if err := json.Unmarshal(value, &back); err != nil {
		t.Fatalf("stored value is not JSON: %v\n%s", err, value)
	}
	if len(back.Labels) != len(env.Labels) {
		t.Fatalf("stored labels %v", back.Labels)
	}
	rec := &kgo.Record{Value: value, Headers: []kgo.RecordHeader{LabelsHeader(at, end)}}
	sb, ok := ParseStored(rec)
	if !ok {
		t.Fatalf("ParseStored failed on %s (labels %d,%d)", value, at, end)
	}
	for _, keys := range [][]string{nil, {"name"}, {"room", "name"}, {"a<b", `q"`, "zz", "missing"}, {"x"}} {
		r := NewRenderer(keys)
		if got, want := string(r.Project(nil, &sb)), string(r.Append(nil, env)); got != want {
			t.Errorf("keys %v:\nproject %s\nrender  %s", keys, got, want)
		}
	}
}

// A record without a valid labels header is not taken for a stored one.
func TestParseStoredRejects(t *testing.T) {
	value, at, end := AppendStored(nil, &Envelope{Labels: map[string]string{"a": "b"}})
	for _, h := range [][]kgo.RecordHeader{
		nil,
		{{Key: HeaderLabels, Value: []byte("x")}},
		{{Key: HeaderLabels, Value: []byte("3,2")}},
		{LabelsHeader(at+1, end)},
		{LabelsHeader(at, len(value)+5)},
	} {
		if _, ok := ParseStored(&kgo.Record{Value: value, Headers: h}); ok {
			t.Errorf("headers %v accepted", h)
		}
	}
}

func BenchmarkProject(b *testing.B) {
	f := loadDTRequests(b)
	var env Envelope
	_ = json.Unmarshal([]byte(f.Requests[1].Body), &env)
	env.Labels["room"] = "R1"
	value, at, end := AppendStored(nil, &env)
	rec := &kgo.Record{Value: value, Headers: []kgo.RecordHeader{LabelsHeader(at, end)}}
	r := NewRenderer([]string{"name"})
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		sb, _ := ParseStored(rec)
		buf = r.Project(buf[:0], &sb)
	}
}

// Meta survives a round trip through record headers, and malformed
// numbers are ignored rather than misread.
func TestMetaHeadersRoundTrip(t *testing.T) {
	m := Meta{IngestTime: time.UnixMilli(1764064800123), EventID: "e1", EventType: "co2", Attempts: 7, LastError: "503 Service Unavailable"}
	got := ReadMeta(&kgo.Record{Headers: m.Headers("why")})
	if got != m {
		t.Fatalf("round trip %+v, want %+v", got, m)
	}
	bad := ReadMeta(&kgo.Record{Timestamp: time.UnixMilli(5), Headers: []kgo.RecordHeader{
		{Key: HeaderIngestTime, Value: []byte("-3")}, {Key: HeaderAttempts, Value: []byte("9x")},
	}})
	if !bad.IngestTime.Equal(time.UnixMilli(5)) || bad.Attempts != 0 {
		t.Fatalf("malformed headers read as %+v", bad)
	}
}
