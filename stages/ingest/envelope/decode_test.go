package envelope

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/xid"

	"github.com/hookpipe/hookpipe/pipeline"
)

const fixture = "testdata/ingest-one-of-each-type.ndjson"

// testNow is the clock of every Decode call in these tests.
var testNow = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))

// minimal is a valid envelope with only the required fields.
const minimal = `{"event":{"targetName":"projects/p1/devices/d1","eventType":"touch","data":{"touch":{}}}}`

// full is a valid envelope with every field.
const full = `{"event":{"eventId":"e1","targetName":"projects/p1/devices/d1","eventType":"temperature",` +
	`"data":{"temperature":{"value":21.5}},"timestamp":"2026-11-25T09:00:00.5Z"},` +
	`"labels":{"name":"Fridge","room":"R1"},"metadata":{"deviceType":"temperature","productNumber":"102081"}}`

// TestDecodeShapes pins the three body shapes: one object, an array, and
// NDJSON (blank lines, CRLF and a trailing newline allowed), whatever the
// Content-Type but application/x-ndjson, which refuses arrays.
func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		want                    int
	}{
		{"object", full, "application/json", 1},
		{"object with space", " \n\t" + full + "\n ", "application/json", 1},
		{"pretty object", "{\n  \"event\": {\n    \"targetName\": \"projects/p/devices/d\",\n    \"eventType\": \"touch\",\n    \"data\": {\"touch\": {}}\n  }\n}\n", "", 1},
		{"array of one", "[" + full + "]", "application/json", 1},
		{"array", "[ " + full + " ,\n" + minimal + "," + full + " ]", "application/json", 3},
		{"ndjson", full + "\n" + minimal + "\n" + full, "application/x-ndjson", 3},
		{"ndjson trailing newline", full + "\n" + minimal + "\n", "application/x-ndjson; charset=utf-8", 2},
		{"ndjson blank lines and crlf", "\r\n\n" + full + "\r\n\r\n\n" + minimal + "\r\n", "application/x-ndjson", 2},
		{"ndjson sent as json", full + "\n" + minimal, "application/json", 2},
		{"ndjson without content type", minimal + "\n" + minimal, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := Decode([]byte(tt.body), tt.contentType, Limits{}, testNow)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(envs) != tt.want {
				t.Fatalf("got %d envelopes, want %d", len(envs), tt.want)
			}
		})
	}
}

// TestDecodeFull pins what a complete envelope becomes: every given field
// kept, the metadata ids derived from targetName.
func TestDecodeFull(t *testing.T) {
	envs, err := Decode([]byte(full), "application/json", Limits{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := &pipeline.Envelope{
		Event: pipeline.Event{
			EventID:    "e1",
			TargetName: "projects/p1/devices/d1",
			EventType:  "temperature",
			Data:       json.RawMessage(`{"temperature":{"value":21.5}}`),
			Timestamp:  "2026-11-25T09:00:00.5Z",
		},
		Labels:   map[string]string{"name": "Fridge", "room": "R1"},
		Metadata: pipeline.Metadata{DeviceID: "d1", ProjectID: "p1", DeviceType: "temperature", ProductNumber: "102081"},
	}
	if diff := cmp.Diff([]*pipeline.Envelope{want}, envs); diff != "" {
		t.Errorf("envelope mismatch (-want +got):\n%s", diff)
	}
}

// TestDecodeFixture pins that one valid event of each of the 19 types is
// accepted and comes out as it went in, with its metadata derived.
func TestDecodeFixture(t *testing.T) {
	lines := fixtureLines(t)
	seen := map[string]bool{}
	for i, line := range lines {
		var in pipeline.Envelope
		if err := json.Unmarshal(line, &in); err != nil {
			t.Fatalf("fixture line %d: %v", i, err)
		}
		t.Run(in.Event.EventType, func(t *testing.T) {
			envs, err := Decode(line, "application/json", Limits{}, testNow)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := in
			var data bytes.Buffer
			if err := json.Compact(&data, in.Event.Data); err != nil {
				t.Fatal(err)
			}
			want.Event.Data = data.Bytes()
			want.Metadata.ProjectID, want.Metadata.DeviceID, _ = pipeline.ParseTargetName(in.Event.TargetName)
			if diff := cmp.Diff(&want, envs[0]); diff != "" {
				t.Errorf("envelope mismatch (-want +got):\n%s", diff)
			}
		})
		seen[in.Event.EventType] = true
	}
	for _, typ := range pipeline.EventTypes() {
		if !seen[typ] {
			t.Errorf("fixture lacks event type %q", typ)
		}
	}
	envs, err := Decode(readFile(t, fixture), "application/x-ndjson", Limits{}, testNow)
	if err != nil || len(envs) != len(pipeline.EventTypes()) {
		t.Fatalf("whole fixture: %d envelopes, %v; want %d", len(envs), err, len(pipeline.EventTypes()))
	}
}

// TestDecodeAssigns pins the server-assigned fields: a 20-character xid
// when eventId is absent or null, now in UTC with microseconds when
// timestamp is absent or null, a given timestamp kept when it ends in Z and
// converted to UTC otherwise.
func TestDecodeAssigns(t *testing.T) {
	const tn = `"targetName":"projects/p/devices/d","eventType":"touch","data":{}`
	tests := []struct {
		name, event, wantTimestamp string
	}{
		{"absent", `{` + tn + `}`, "2026-11-25T09:00:00.123456Z"},
		{"null", `{"eventId":null,` + tn + `,"timestamp":null}`, "2026-11-25T09:00:00.123456Z"},
		{"kept with Z", `{` + tn + `,"timestamp":"2026-01-02T03:04:05Z"}`, "2026-01-02T03:04:05Z"},
		{"kept nanos", `{` + tn + `,"timestamp":"2026-01-02T03:04:05.123456789Z"}`, "2026-01-02T03:04:05.123456789Z"},
		{"offset converted", `{` + tn + `,"timestamp":"2026-01-02T03:04:05.25+02:00"}`, "2026-01-02T01:04:05.25Z"},
		{"minus zero converted", `{` + tn + `,"timestamp":"2026-01-02T03:04:05-00:00"}`, "2026-01-02T03:04:05Z"},
		{"comma converted", `{` + tn + `,"timestamp":"2026-01-02T03:04:05,5Z"}`, "2026-01-02T03:04:05.5Z"},
		{"long fraction converted", `{` + tn + `,"timestamp":"2026-01-02T03:04:05.1234567891Z"}`, "2026-01-02T03:04:05.123456789Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := Decode([]byte(`{"event":`+tt.event+`}`), "", Limits{}, testNow)
			if err != nil {
				t.Fatal(err)
			}
			e := envs[0].Event
			if e.Timestamp != tt.wantTimestamp {
				t.Errorf("timestamp = %q, want %q", e.Timestamp, tt.wantTimestamp)
			}
			if _, err := xid.FromString(e.EventID); err != nil || len(e.EventID) != 20 {
				t.Errorf("eventId = %q, want a 20-character xid (%v)", e.EventID, err)
			}
		})
	}
	envs, err := Decode([]byte("["+minimal+","+minimal+"]"), "", Limits{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if envs[0].Event.EventID == envs[1].Event.EventID {
		t.Errorf("assigned eventIds are equal: %q", envs[0].Event.EventID)
	}
}

// TestDecodeMetadata pins that metadata ids are derived from targetName,
// and that client-given ids are accepted only when they match it.
func TestDecodeMetadata(t *testing.T) {
	body := `{"event":{"targetName":"projects/proj/devices/dev","eventType":"touch","data":{}},` +
		`"metadata":{"deviceId":"dev","projectId":"proj","deviceType":null}}`
	envs, err := Decode([]byte(body), "", Limits{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := pipeline.Metadata{DeviceID: "dev", ProjectID: "proj"}
	if diff := cmp.Diff(want, envs[0].Metadata); diff != "" {
		t.Errorf("metadata mismatch (-want +got):\n%s", diff)
	}
	if envs[0].Labels != nil {
		t.Errorf("labels = %v, want nil", envs[0].Labels)
	}
}

// TestDecodeData pins that data is stored compact, that strings in it are
// kept byte for byte, and that envelopes share no memory with the body.
func TestDecodeData(t *testing.T) {
	body := []byte("{\"event\":{\"targetName\":\"projects/p/devices/d\",\"eventType\":\"touch\"," +
		"\"data\": { \"touch\" : { \"s\" : \"a <b> & \\u00e9 \\\" \\n\" , \"n\" : [ 1 , 2 ] } } }}")
	envs, err := Decode(body, "", Limits{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"touch":{"s":"a <b> & \u00e9 \" \n","n":[1,2]}}`
	for i := range body {
		body[i] = 'x'
	}
	if got := string(envs[0].Event.Data); got != want {
		t.Errorf("data = %s, want %s", got, want)
	}
	if envs[0].Event.TargetName != "projects/p/devices/d" {
		t.Errorf("targetName changed with the body: %q", envs[0].Event.TargetName)
	}
}

// TestDecodeStrings pins JSON string decoding in the envelope levels:
// escapes are decoded and non-ASCII kept.
func TestDecodeStrings(t *testing.T) {
	body := `{"event":{"targetName":"projects\/p\u0031/devices/d","eventType":"t\u006fuch","data":{}},` +
		`"labels":{"n\u00e4me":"K\u00fchlschrank \"1\"","room":"Büro ☃"}}`
	envs, err := Decode([]byte(body), "", Limits{}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"näme": `Kühlschrank "1"`, "room": "Büro ☃"}
	if diff := cmp.Diff(want, envs[0].Labels); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
	if e := envs[0].Event; e.TargetName != "projects/p1/devices/d" || e.EventType != "touch" {
		t.Errorf("event = %+v", e)
	}
}

func fixtureLines(t testing.TB) [][]byte {
	t.Helper()
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, fixture)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withEvent returns minimal with the event's fields replaced by fields.
func withEvent(fields string) string { return `{"event":{` + fields + `}}` }

// TestDecodeSharedErrorTexts pins that the error texts quoted in the docs
// are the ones returned.
func TestDecodeSharedErrorTexts(t *testing.T) {
	body := "[" + minimal + "," + minimal + "," + strings.Replace(minimal, "projects/p1/devices/d1", "p1/d1", 1) + "]"
	_, err := Decode([]byte(body), "", Limits{}, testNow)
	const want = "item 2: event.targetName: must be projects/<projectId>/devices/<deviceId>"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	var ie *ItemError
	if !errors.As(err, &ie) || ie.Index != 2 || ie.Field != "event.targetName" {
		t.Errorf("ItemError = %+v, want index 2, field event.targetName", ie)
	}
}
