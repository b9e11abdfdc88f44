package pipeline

import (
	"encoding/json"
	"fmt"
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
	now := time.UnixMilli(1764064800123)
	rec := EncodeEvent("t", env, now)
	var back Envelope
	if err := json.Unmarshal(rec.Value, &back); err != nil {
		t.Fatalf("stored value is not JSON: %v\n%s", err, rec.Value)
	}
	if len(back.Labels) != len(env.Labels) {
		t.Fatalf("stored labels %v", back.Labels)
	}
	ev, ok := DecodeEvent(&rec)
	if !ok || ev.env != nil {
		t.Fatalf("DecodeEvent did not locate the labels of %s (headers %v)", rec.Value, rec.Headers)
	}
	want := Meta{IngestTime: now, EventID: "e", EventType: "touch"}
	if ev.Meta != want || string(ev.Key) != "d" || !rec.Timestamp.Equal(now) {
		t.Errorf("decoded meta %+v key %q, want %+v key d", ev.Meta, ev.Key, want)
	}
	for _, keys := range [][]string{nil, {"name"}, {"room", "name"}, {"a<b", `q"`, "zz", "missing"}, {"x"}} {
		r := NewRenderer(keys)
		out := ev.Record("c", r)
		if got, want := string(out.Value), string(r.Append(nil, env)); got != want {
			t.Errorf("keys %v:\nproject %s\nrender  %s", keys, got, want)
		}
		if m := ReadMeta(out); m != ev.Meta || out.Topic != "c" || string(out.Key) != "d" {
			t.Errorf("keys %v: connector record %s %q %+v", keys, out.Topic, out.Key, m)
		}
	}
}

// A record another producer wrote (no labels header) is decoded as an
// envelope: its body, eventId, eventType and deviceId come from the value;
// a value that is no envelope is refused.
func TestDecodeEventOtherWriter(t *testing.T) {
	v := `{"event":{"eventId":"e2","targetName":"projects/p/devices/d2","eventType":"co2","data":{},"timestamp":"t"},"labels":{"name":"N","room":"R"},"metadata":{"deviceId":"d2","projectId":"p"}}`
	in := Meta{IngestTime: time.UnixMilli(7)}.Record("t", nil, []byte(v), "")
	ev, ok := DecodeEvent(in)
	if !ok || ev.Meta.EventID != "e2" || ev.Meta.EventType != "co2" || string(ev.Key) != "d2" || !ev.Meta.IngestTime.Equal(time.UnixMilli(7)) {
		t.Fatalf("decoded %+v key %q ok %v", ev.Meta, ev.Key, ok)
	}
	want := `{"event":{"eventId":"e2","targetName":"projects/p/devices/d2","eventType":"co2","data":{},"timestamp":"t"},"labels":{"room":"R"},"metadata":{"deviceId":"d2","projectId":"p","deviceType":"","productNumber":""}}`
	if got := ev.Record("c", NewRenderer([]string{"room"})).Value; string(got) != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
	for _, bad := range []string{`not json`, `{"event":{"eventId":"e"}}`} {
		if _, ok := DecodeEvent(&kgo.Record{Value: []byte(bad)}); ok {
			t.Errorf("%s decoded", bad)
		}
	}
}

// A record without a valid labels header is not taken for a stored one.
func TestLabelsHeaderRejects(t *testing.T) {
	value, at, end := appendStored(nil, &Envelope{Labels: map[string]string{"a": "b"}})
	span := func(a, b int) []byte { return fmt.Appendf(nil, "%d,%d", a, b) }
	for _, h := range [][]byte{nil, []byte("x"), []byte("3,2"), []byte("+1,2"), span(at+1, end), span(at, len(value)+5)} {
		var sb storedBody
		if _, ok := readHeaders(&kgo.Record{Value: value, Headers: []kgo.RecordHeader{{Key: HeaderLabels, Value: h}}}, &sb); ok {
			t.Errorf("header %q accepted", h)
		}
	}
	var sb storedBody
	if _, ok := readHeaders(&kgo.Record{Value: value, Headers: []kgo.RecordHeader{{Key: HeaderLabels, Value: span(at, end)}}}, &sb); !ok {
		t.Errorf("the header ingest writes is refused")
	}
}

func BenchmarkProject(b *testing.B) {
	f := loadDTRequests(b)
	var env Envelope
	_ = json.Unmarshal([]byte(f.Requests[1].Body), &env)
	env.Labels["room"] = "R1"
	rec := EncodeEvent("t", &env, time.Now())
	r := NewRenderer([]string{"name"})
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	labels := rec.Headers[len(rec.Headers)-1].Value
	for i := 0; i < b.N; i++ {
		var sb storedBody
		parseLabels(labels, rec.Value, &sb)
		buf = r.project(buf[:0], &sb)
	}
}

// Meta survives a round trip through record headers, and malformed
// numbers are ignored rather than misread.
func TestMetaHeadersRoundTrip(t *testing.T) {
	m := Meta{IngestTime: time.UnixMilli(1764064800123), EventID: "e1", EventType: "co2", Attempts: 7, LastError: "503 Service Unavailable"}
	got := ReadMeta(m.Record("t", nil, nil, "why"))
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

// ReadIngestTime reads what ReadMeta reads as the ingest time: the header,
// else the record's timestamp when the header is missing or malformed.
func TestReadIngestTimeAsReadMeta(t *testing.T) {
	stamp := time.UnixMilli(5)
	for _, hs := range [][]kgo.RecordHeader{
		nil,
		Meta{IngestTime: time.UnixMilli(1764064800123), EventID: "e1", EventType: "co2"}.headers(""),
		{{Key: HeaderIngestTime, Value: []byte("-3")}},
		{{Key: HeaderEventID, Value: []byte("e")}, {Key: HeaderIngestTime, Value: []byte("77")}},
	} {
		r := &kgo.Record{Timestamp: stamp, Headers: hs}
		if got, want := ReadIngestTime(r), ReadMeta(r).IngestTime; !got.Equal(want) {
			t.Errorf("headers %v: ReadIngestTime %v, ReadMeta %v", hs, got, want)
		}
	}
	if got := ReadIngestTime(&kgo.Record{Timestamp: stamp, Headers: []kgo.RecordHeader{{Key: HeaderIngestTime, Value: []byte("77")}}}); !got.Equal(time.UnixMilli(77)) {
		t.Errorf("ReadIngestTime = %v, want the header's 77 ms", got)
	}
}
