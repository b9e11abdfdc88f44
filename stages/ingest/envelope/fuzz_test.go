package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hookpipe/hookpipe/pipeline"
)

// FuzzDecode pins that Decode never panics on any body and Content-Type,
// and that whatever it accepts is complete: a valid eventId, a known
// eventType, metadata ids derived from targetName, an RFC 3339 timestamp,
// and data that is a compact, valid, UTF-8 JSON object. A rejection
// returns no envelopes.
func FuzzDecode(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(line, "application/json")
	}
	f.Add(readFile(f, fixture), "application/x-ndjson")
	for _, s := range []string{minimal, full, "[" + minimal + "," + full + "]", minimal + "\n\n" + full + "\n",
		`{"event":{"targetName":"projects/p/devices/d","eventType":"touch","data":{"a":[{"b":"\u00e9\"}"}]}}}`,
		`{"event":{"targetName":"projects/p/devices/d","eventType":"touch","data":{},"timestamp":"2026-01-02T03:04:05,5Z"}}`,
		`{"event":{"eventId":null,"targetName":"projects/p/devices/d","eventType":"co2","data":{},"timestamp":"2026-01-02T03:04:05+01:00"},"labels":{"k":"v"},"metadata":{"deviceId":"d"}}`,
		"[]", "", "null", `{"event":{}}`, "[{}", `{"event":{"data":{"a":[1}}}}`,
	} {
		f.Add([]byte(s), "")
	}
	small := Limits{MaxEvents: 3, MaxEventBytes: 300, MaxDepth: 5}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		for _, lim := range []Limits{{}, small} {
			envs, err := Decode(body, contentType, lim, time.Now())
			if err != nil {
				checkRejection(t, envs, err)
				continue
			}
			if len(envs) == 0 {
				t.Fatal("Decode accepted no envelopes without an error")
			}
			for i, env := range envs {
				checkAccepted(t, i, env)
			}
			checkOracle(t, body, envs)
		}
	})
}

func checkRejection(t *testing.T, envs []*pipeline.Envelope, err error) {
	t.Helper()
	if envs != nil {
		t.Fatalf("Decode returned %d envelopes with error %v", len(envs), err)
	}
	var ie *ItemError
	if err.Error() == "" || errors.As(err, &ie) && (ie.Index < 0 || ie.Msg == "") {
		t.Fatalf("malformed error %#v", err)
	}
}

// eventIDRe is what an assigned or accepted eventId looks like.
var eventIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkAccepted(t *testing.T, i int, env *pipeline.Envelope) {
	t.Helper()
	e := env.Event
	if !eventIDRe.MatchString(e.EventID) {
		t.Fatalf("item %d: eventId %q", i, e.EventID)
	}
	if !pipeline.KnownEventType(e.EventType) {
		t.Fatalf("item %d: eventType %q", i, e.EventType)
	}
	projectID, deviceID, err := pipeline.ParseTargetName(e.TargetName)
	if err != nil || env.Metadata.ProjectID != projectID || env.Metadata.DeviceID != deviceID {
		t.Fatalf("item %d: targetName %q, metadata %+v, %v", i, e.TargetName, env.Metadata, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil || !canonicalUTC(e.Timestamp) {
		t.Fatalf("item %d: timestamp %q is not RFC 3339 in UTC (%v)", i, e.Timestamp, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, e.Data); err != nil || !bytes.Equal(compact.Bytes(), e.Data) ||
		e.Data[0] != '{' || !utf8.Valid(e.Data) {
		t.Fatalf("item %d: data %q is not a compact UTF-8 JSON object (%v)", i, e.Data, err)
	}
	var back pipeline.Envelope
	if b, err := json.Marshal(env); err != nil || json.Unmarshal(b, &back) != nil {
		t.Fatalf("item %d: envelope does not round-trip through JSON: %v", i, err)
	}
}

// checkOracle compares what Decode accepted with what encoding/json reads
// from the same body, once the server's additions are applied to the
// latter.
func checkOracle(t *testing.T, body []byte, got []*pipeline.Envelope) {
	t.Helper()
	var want []*pipeline.Envelope
	if bytes.TrimLeft(body, " \t\r\n")[0] == '[' {
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("encoding/json rejects an accepted array: %v", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(body))
		for {
			var env pipeline.Envelope
			if err := dec.Decode(&env); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("encoding/json rejects an accepted body: %v", err)
			}
			want = append(want, &env)
		}
	}
	if len(want) != len(got) {
		t.Fatalf("encoding/json reads %d envelopes, Decode %d", len(want), len(got))
	}
	for i, w := range want {
		serverAdditions(t, w, got[i])
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Decode differs from encoding/json (-json +Decode):\n%s", diff)
	}
}

// serverAdditions applies to w, read by encoding/json, what Decode adds:
// assigned ids and timestamps, converted timestamps, derived metadata,
// compact data.
func serverAdditions(t *testing.T, w, got *pipeline.Envelope) {
	t.Helper()
	if w.Event.EventID == "" {
		w.Event.EventID = got.Event.EventID
	}
	if ts := w.Event.Timestamp; ts == "" {
		w.Event.Timestamp = got.Event.Timestamp
	} else if !canonicalUTC(ts) {
		a, _ := time.Parse(time.RFC3339Nano, ts)
		b, _ := time.Parse(time.RFC3339Nano, got.Event.Timestamp)
		if !a.Equal(b) {
			t.Fatalf("timestamp %s became %s", ts, got.Event.Timestamp)
		}
		w.Event.Timestamp = got.Event.Timestamp
	}
	w.Metadata.DeviceID, w.Metadata.ProjectID = got.Metadata.DeviceID, got.Metadata.ProjectID
	var data bytes.Buffer
	if err := json.Compact(&data, w.Event.Data); err != nil {
		t.Fatal(err)
	}
	w.Event.Data = data.Bytes()
}
