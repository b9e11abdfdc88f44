package devreceiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookpipe/hookpipe/pipeline/devreceiver"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 11, 25, 20, 41, 3, 0, time.UTC)

// clock returns a Now option that always says t.
func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

// temperatureBody is a DT webhook body for a temperature event.
const temperatureBody = `{"event":{"eventId":"c0example00000000001",` +
	`"targetName":"projects/c0proj0000000000000g/devices/c0dev000000000000001",` +
	`"eventType":"temperature","data":{"temperature":{"value":24.9,` +
	`"updateTime":"2026-11-25T10:00:00.000000Z","samples":[{"value":24.9,` +
	`"sampleTime":"2026-11-25T10:00:00.000000Z"}],"isBackfilled":false}},` +
	`"timestamp":"2026-11-25T10:00:00.000000Z"},"labels":{"name":"Sensor 1"},` +
	`"metadata":{"deviceId":"c0dev000000000000001","projectId":"c0proj0000000000000g",` +
	`"deviceType":"temperature","productNumber":"102081"}}`

// lockedBuffer is an Out that tests may read while a server writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// post sends body to h with the given headers and records the answer.
func post(h http.Handler, body string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signed returns a header carrying a token for body under secret.
func signed(secret, body string, at time.Time) http.Header {
	tok := signature.NewSigner([]byte(secret)).Sign([]byte(body), at)
	return http.Header{signature.Header: {tok}}
}

// Invariant: a request signed with the receiver's secret is accepted (2xx),
// counted as verified, and printed as one readable OK line.
func TestSignedRequestVerified(t *testing.T) {
	var out lockedBuffer
	var ids []string
	r := devreceiver.New(devreceiver.Options{
		Secret: "s3cret", Out: &out, Now: clock(now),
		OnEvent: func(id string, _ []byte) { ids = append(ids, id) },
	})
	rec := post(r, temperatureBody, signed("s3cret", temperatureBody, now))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204", rec.Code)
	}
	want := "2026-11-25T20:41:03Z  OK  verified  temperature  c0dev000000000000001  " +
		`eventId=c0example00000000001  value=24.9  labels={"name":"Sensor 1"}` + "\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c0example00000000001"}, ids); diff != "" {
		t.Errorf("OnEvent ids (-want +got):\n%s", diff)
	}
	wantStats := devreceiver.Stats{Received: 1, Accepted: 1, Verified: 1}
	if diff := cmp.Diff(wantStats, r.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// Invariant: when a secret is required, a request with a bad, expired or
// missing signature is answered 401 with a short reason, printed as
// REJECTED, counted as rejected and never handed to OnEvent.
func TestSignatureRejected(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		reason string
	}{
		{"wrong secret", signed("other", temperatureBody, now), "bad signature"},
		{"unsigned", nil, "missing signature"},
		{"expired", signed("s3cret", temperatureBody, now.Add(-2*time.Hour)), "expired signature"},
		{"other body", signed("s3cret", temperatureBody+" ", now), "checksum mismatch"},
		{"garbage", http.Header{signature.Header: {"x.y.z"}}, "malformed signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			r := devreceiver.New(devreceiver.Options{
				Secret: "s3cret", Out: &out, Now: clock(now),
				OnEvent: func(string, []byte) { t.Error("OnEvent called for a rejected request") },
			})
			rec := post(r, temperatureBody, tt.header)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.reason {
				t.Errorf("answer %q, want %q", got, tt.reason)
			}
			if !strings.Contains(out.String(), "  REJECTED  ") {
				t.Errorf("line %q lacks REJECTED", out.String())
			}
			if s := r.Stats(); s.Rejected != 1 || s.Accepted != 0 || s.Verified != 0 {
				t.Errorf("stats %+v, want one rejected", s)
			}
		})
	}
}

// Invariant: with FailureRate 1 every request is answered 503, printed as
// FAIL(503), counted as failed and not handed to OnEvent.
func TestFailureRateOne(t *testing.T) {
	var out lockedBuffer
	r := devreceiver.New(devreceiver.Options{
		FailureRate: 1, Out: &out, Now: clock(now),
		OnEvent: func(string, []byte) { t.Error("OnEvent called for a failed request") },
	})
	for range 10 {
		if rec := post(r, temperatureBody, nil); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
	}
	if n := strings.Count(out.String(), "  FAIL(503)  unsigned  temperature  "); n != 10 {
		t.Errorf("%d FAIL(503) lines, want 10:\n%s", n, out.String())
	}
	if diff := cmp.Diff(devreceiver.Stats{Received: 10, Failed: 10}, r.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// Invariant: only POST is served; other methods get 405 with an Allow header
// and are not counted.
func TestMethodNotAllowed(t *testing.T) {
	r := devreceiver.New(devreceiver.Options{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodHead} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(m, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("%s: status %d Allow %q, want 405 POST", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
	if diff := cmp.Diff(devreceiver.Stats{}, r.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// Invariant: a body over the cap is answered 413 and rejected.
func TestBodyTooLarge(t *testing.T) {
	var out lockedBuffer
	r := devreceiver.New(devreceiver.Options{MaxBodyBytes: 16, Out: &out, Now: clock(now)})
	if rec := post(r, temperatureBody, nil); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", rec.Code)
	}
	if !strings.Contains(out.String(), "REJECTED  body over 16 bytes") {
		t.Errorf("line %q", out.String())
	}
	if s := r.Stats(); s.Rejected != 1 {
		t.Errorf("stats %+v, want one rejected", s)
	}
}

// dtFixture is one real DT request from the signature package's testdata.
type dtFixture struct {
	Name   string           `json:"name"`
	Secret string           `json:"secret"`
	Token  string           `json:"token"`
	Body   string           `json:"body"`
	Claims signature.Claims `json:"claims"`
}

// Invariant: the real DT Cloud requests are accepted and verified by a
// receiver with their secret while their tokens are valid.
func TestDTRequestsVerify(t *testing.T) {
	raw, err := os.ReadFile("../signature/testdata/dt-signed-requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Requests []dtFixture }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for _, f := range file.Requests {
		t.Run(f.Name, func(t *testing.T) {
			at := time.Unix((f.Claims.IssuedAt+f.Claims.ExpiresAt)/2, 0)
			var out lockedBuffer
			var got []byte
			r := devreceiver.New(devreceiver.Options{
				Secret: f.Secret, Out: &out, Now: clock(at),
				OnEvent: func(_ string, body []byte) { got = body },
			})
			// A hand-built header map with DT's lower-case spelling.
			rec := post(r, f.Body, http.Header{"x-dt-signature": {f.Token}})
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d (%s), want 204", rec.Code, rec.Body)
			}
			if !strings.Contains(out.String(), "  OK  verified  "+f.Name+"  ") {
				t.Errorf("line %q", out.String())
			}
			if string(got) != f.Body {
				t.Errorf("OnEvent body differs from the raw body")
			}
		})
	}
}

// Invariant: a line shows the value of measurement events, compact data
// (cut at 80 characters) for the others, and a note for a non-JSON body,
// which is still accepted.
func TestLineSummary(t *testing.T) {
	long := strings.Repeat("x", 100)
	const open = `{"contact":{"state":"`
	tests := []struct{ name, body, want string }{
		{"humidity", event("humidity", `{"humidity":{"temperature":22.45,"relativeHumidity":17}}`),
			"  relativeHumidity=17  temperature=22.45  "},
		{"co2", event("co2", `{"co2":{"ppm":526}}`), "  ppm=526  "},
		{"pressure", event("pressure", `{"pressure":{"pascal":99301}}`), "  pascal=99301  "},
		{"touch", event("touch", `{ "touch" : { "updateTime" : "t" } }`), `  data={"touch":{"updateTime":"t"}}  `},
		{"long", event("contact", open+long+`"}}`), "  data=" + open + long[:80-len(open)] + "…  "},
		{"not json", "not json", "  OK  unsigned  unparsable body (8 bytes)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			r := devreceiver.New(devreceiver.Options{Out: &out, Now: clock(now)})
			if rec := post(r, tt.body, nil); rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, want 204", rec.Code)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("line %q lacks %q", out.String(), tt.want)
			}
		})
	}
}

// event renders a minimal webhook body of the given type and data.
func event(eventType, data string) string {
	return fmt.Sprintf(`{"event":{"eventId":"e1","eventType":%q,"data":%s},"labels":{},"metadata":{"deviceId":"d1"}}`,
		eventType, data)
}

// Invariant: the latency wait ends, without an answer, when the request's
// context ends.
func TestLatencyHonoursContext(t *testing.T) {
	r := devreceiver.New(devreceiver.Options{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/", strings.NewReader("{}"))
	rec := httptest.NewRecorder()
	start := time.Now()
	r.ServeHTTP(rec, req)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("handler took %v after its context ended", d)
	}
	if rec.Body.Len() != 0 || r.Stats().Accepted != 0 {
		t.Errorf("answered %q, stats %+v; want no answer", rec.Body, r.Stats())
	}
}

// Invariant: under concurrent requests over a real server every delivery is
// seen once by OnEvent and printed as exactly one intact line.
func TestConcurrentServer(t *testing.T) {
	const n = 64
	var out lockedBuffer
	var mu sync.Mutex
	seen := map[string]int{}
	r := devreceiver.New(devreceiver.Options{
		Secret: "s3cret", Out: &out, Latency: time.Millisecond,
		OnEvent: func(id string, _ []byte) { mu.Lock(); seen[id]++; mu.Unlock() },
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- send(srv.URL, fmt.Sprintf("ev%03d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, l := range lines {
		if !strings.Contains(l, "  OK  verified  temperature  d1  eventId=ev") || !strings.HasSuffix(l, "labels={}") {
			t.Errorf("damaged line %q", l)
		}
	}
	if len(lines) != n || len(seen) != n || r.Stats().Verified != n {
		t.Errorf("%d lines, %d distinct events, stats %+v; want %d", len(lines), len(seen), r.Stats(), n)
	}
}

// send posts one signed temperature event with the given id.
func send(url, id string) error {
	body := strings.Replace(event("temperature", `{"temperature":{"value":1}}`), `"e1"`, `"`+id+`"`, 1)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(signature.Header, signature.NewSigner([]byte("s3cret")).Sign([]byte(body), time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s: status %d", id, resp.StatusCode)
	}
	return nil
}
