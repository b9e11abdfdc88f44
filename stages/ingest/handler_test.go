package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/ingest/envelope"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

const testTopic = "hookpipe.events"

// newCluster starts an in-process Kafka with the events topic and returns
// it with a producing client; both are closed when the test ends.
func newCluster(t *testing.T) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, cl
}

// post sends body to h and returns the recorded answer.
func post(h http.Handler, body, contentType, auth string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkAnswer checks an answer's status and exact JSON body.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, code int, body string) {
	t.Helper()
	if w.Code != code || w.Body.String() != body {
		t.Errorf("answer = %d %s, want %d %s", w.Code, w.Body, code, body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

// storedCount flushes the producer and returns how many records the
// events topic holds.
func storedCount(t *testing.T, producer *kgo.Client) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	offsets, err := kadm.NewClient(producer).ListEndOffsets(ctx, testTopic)
	if err == nil {
		err = offsets.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	offsets.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// TestHandlerStoresEvents pins the 202 contract: the answer comes after
// Kafka holds every event, each record keyed by deviceId, carrying the
// stored envelope and the ingest headers, in the order of the request.
func TestHandlerStoresEvents(t *testing.T) {
	c, cl := newCluster(t)
	h := NewHandler(Config{Client: cl, Topic: testTopic})
	events, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	body := string(events) + minimal + "\n"
	before := time.Now().UnixMilli()
	w := post(h, body, "application/x-ndjson", "")
	after := time.Now().UnixMilli()
	if w.Code != http.StatusAccepted {
		t.Fatalf("answer = %d %s, want 202", w.Code, w.Body)
	}
	var got accepted
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want, err := envelope.Decode([]byte(body), "", Limits{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got.Accepted != len(want) || len(got.EventIDs) != len(want) {
		t.Fatalf("answer %+v, want %d events", got, len(want))
	}
	byID := map[string]*kgo.Record{}
	for _, r := range kafkatest.ReadN(t, c.ListenAddrs(), len(want), testTopic) {
		byID[pipeline.ReadMeta(r).EventID] = r
	}
	last := &want[len(want)-1].Event // its eventId and timestamp are assigned
	last.EventID = got.EventIDs[len(want)-1]
	if r := byID[last.EventID]; r != nil {
		var stored pipeline.Envelope
		_ = json.Unmarshal(r.Value, &stored)
		last.Timestamp = stored.Event.Timestamp
		if ts, err := time.Parse(envelope.TimestampLayout, last.Timestamp); err != nil || ts.UnixMilli() < before-1 || ts.UnixMilli() > after {
			t.Errorf("assigned timestamp %q not in [%d, %d] ms (%v)", last.Timestamp, before, after, err)
		}
	}
	for i, env := range want {
		if got.EventIDs[i] != env.Event.EventID {
			t.Errorf("eventIds[%d] = %q, want %q", i, got.EventIDs[i], env.Event.EventID)
		}
		checkRecord(t, byID[env.Event.EventID], env, before, after)
	}
}

// checkRecord checks one stored record against the envelope it carries,
// in the stored layout fanout splices (labels located by a header).
func checkRecord(t *testing.T, r *kgo.Record, want *pipeline.Envelope, before, after int64) {
	t.Helper()
	if r == nil {
		t.Errorf("event %s not on the topic", want.Event.EventID)
		return
	}
	var env pipeline.Envelope
	if err := json.Unmarshal(r.Value, &env); err != nil {
		t.Fatalf("record value: %v", err)
	}
	if diff := cmp.Diff(want, &env, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("record value mismatch (-want +got):\n%s", diff)
	}
	if string(r.Key) != want.Metadata.DeviceID {
		t.Errorf("key = %q, want %q", r.Key, want.Metadata.DeviceID)
	}
	if enc := pipeline.EncodeEvent(r.Topic, want, r.Timestamp); !bytes.Equal(r.Value, enc.Value) || !cmp.Equal(r.Headers, enc.Headers) {
		t.Errorf("record of %s is not in the codec's layout:\n%s %v\nwant\n%s %v", want.Event.EventID, r.Value, r.Headers, enc.Value, enc.Headers)
	}
	meta := pipeline.ReadMeta(r)
	ms := meta.IngestTime.UnixMilli()
	if ms < before || ms > after || r.Timestamp.UnixMilli() != ms {
		t.Errorf("ingest time %d, record time %d, want both in [%d, %d]", ms, r.Timestamp.UnixMilli(), before, after)
	}
	if meta.EventID != want.Event.EventID || meta.EventType != want.Event.EventType || len(r.Headers) != 4 {
		t.Errorf("headers %v, want id %s and type %s", r.Headers, want.Event.EventID, want.Event.EventType)
	}
}

// TestHandlerRejects pins that a rejected request writes nothing to Kafka
// and answers with the error that names the item and field, or the limit.
func TestHandlerRejects(t *testing.T) {
	bad := strings.Replace(minimal, "projects/p1/devices/d1", "p1/d1", 1)
	tests := []struct {
		name, body string
		lim        Limits
		code       int
		want       string
	}{
		{"bad batch", "[" + minimal + "," + bad + "]", Limits{}, 400,
			`{"error":"item 1: event.targetName: must be projects/<projectId>/devices/<deviceId>"}`},
		{"bad line", minimal + "\n" + minimal + "\n" + bad, Limits{}, 400,
			`{"error":"item 2: event.targetName: must be projects/<projectId>/devices/<deviceId>"}`},
		{"empty", "", Limits{}, 400, `{"error":"no events"}`},
		{"body too large", minimal + "\n" + minimal, Limits{MaxBodyBytes: 100}, 413,
			`{"error":"request body larger than 100 bytes"}`},
		{"too many events", minimal + "\n" + minimal, Limits{MaxEvents: 1}, 413,
			`{"error":"more than 1 events in one request"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cl := newCluster(t)
			h := NewHandler(Config{Client: cl, Topic: testTopic, Limits: tt.lim})
			checkAnswer(t, post(h, tt.body, "", ""), tt.code, tt.want)
			if n := storedCount(t, cl); n != 0 {
				t.Errorf("topic holds %d records, want 0", n)
			}
		})
	}
}

// TestHandlerBodyLimitStreaming pins that the body limit holds for a body
// of unknown length (chunked), at the default of 4 MiB.
func TestHandlerBodyLimitStreaming(t *testing.T) {
	_, cl := newCluster(t)
	srv := httptest.NewServer(NewHandler(Config{Client: cl, Topic: testTopic}))
	defer srv.Close()
	body := io.MultiReader(strings.NewReader(strings.Repeat(" ", envelope.DefaultMaxBodyBytes)), strings.NewReader(minimal))
	resp, err := http.Post(srv.URL, "application/json", body) // no Content-Length: chunked
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	const want = `{"error":"request body larger than 4194304 bytes"}`
	if resp.StatusCode != http.StatusRequestEntityTooLarge || string(got) != want {
		t.Errorf("answer = %d %s, want 413 %s", resp.StatusCode, got, want)
	}
}

// TestHandlerAuth pins bearer authentication: with a token configured,
// only "Authorization: Bearer <token>" passes; others get 401 with
// WWW-Authenticate. Without a token, no header is needed.
func TestHandlerAuth(t *testing.T) {
	_, cl := newCluster(t)
	tests := []struct {
		name, token, auth string
		code              int
	}{
		{"missing", "s3cret", "", 401},
		{"wrong", "s3cret", "Bearer s3cre", 401},
		{"longer", "s3cret", "Bearer s3cret2", 401},
		{"other scheme", "s3cret", "Basic s3cret", 401},
		{"no scheme", "s3cret", "s3cret", 401},
		{"right", "s3cret", "Bearer s3cret", 202},
		{"scheme case", "s3cret", "bearer s3cret", 202},
		{"no token configured", "", "", 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(Config{Client: cl, Topic: testTopic, Token: tt.token})
			w := post(h, minimal, "application/json", tt.auth)
			if w.Code != tt.code {
				t.Fatalf("status = %d %s, want %d", w.Code, w.Body, tt.code)
			}
			if tt.code == 401 {
				checkAnswer(t, w, 401, `{"error":"unauthorized"}`)
				if got := w.Header().Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
			}
		})
	}
}

// TestHandlerKafkaUnavailable pins the 503 contract: when Kafka fails a
// write or does not acknowledge it in time, the answer is 503 with
// Retry-After and a fixed message; the internal error goes to the log,
// never to the client.
func TestHandlerKafkaUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		setup func(*kfake.Cluster)
	}{
		{"cluster down", testTopic, (*kfake.Cluster).Close},
		{"unknown topic", "hookpipe.nosuchtopic", func(*kfake.Cluster) {}},
		{"write refused", testTopic, refuseProduce},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cl := newCluster(t)
			tt.setup(c)
			var logs strings.Builder
			h := NewHandler(Config{Client: cl, Topic: tt.topic, ProduceTimeout: time.Second,
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			w := post(h, minimal, "application/json", "")
			checkAnswer(t, w, 503, `{"error":"kafka unavailable, retry later"}`)
			if got := w.Header().Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
			if !strings.Contains(logs.String(), "producing to kafka failed") || !strings.Contains(logs.String(), "error=") {
				t.Errorf("the failure is not logged with its cause: %q", logs.String())
			}
		})
	}
}

// refuseProduce makes c answer every produce request with a non-retriable
// error, so that the client fails the records at once.
func refuseProduce(c *kfake.Cluster) { kafkatest.RefuseProduce(c, kerr.TopicAuthorizationFailed, -1) }

// TestHandlerConcurrent pins that concurrent requests share one handler
// and client safely, and that every acknowledged event is stored.
func TestHandlerConcurrent(t *testing.T) {
	_, cl := newCluster(t)
	h := NewHandler(Config{Client: cl, Topic: testTopic})
	const n = 20
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = post(h, minimal+"\n"+full, "", "").Code })
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusAccepted {
			t.Errorf("request %d: status %d, want 202", i, code)
		}
	}
	if got := storedCount(t, cl); got != 2*n {
		t.Errorf("topic holds %d records, want %d", got, 2*n)
	}
}

// TestHandlerMethod pins that only POST is served.
func TestHandlerMethod(t *testing.T) {
	h := NewHandler(Config{})
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		t.Run(m, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(m, "/v1/events", nil))
			checkAnswer(t, w, 405, `{"error":"method not allowed"}`)
			if got := w.Header().Get("Allow"); got != "POST" {
				t.Errorf("Allow = %q, want POST", got)
			}
		})
	}
}

// TestHandlerMetrics pins the counters: one request per answer by status,
// and accepted events only on 202.
func TestHandlerMetrics(t *testing.T) {
	_, cl := newCluster(t)
	m := metrics.NewMetrics()
	h := NewHandler(Config{Client: cl, Topic: testTopic, Metrics: m})
	post(h, minimal+"\n"+minimal, "", "")
	post(h, "[]", "", "")
	post(h, minimal, "", "")
	want := map[string]float64{
		`hookpipe_ingest_requests_total{code="202"}`: 2,
		`hookpipe_ingest_requests_total{code="400"}`: 1,
		`hookpipe_ingest_events_total`:               3,
	}
	got := map[string]float64{}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "hookpipe_ingest_") {
			continue
		}
		for _, s := range f.GetMetric() {
			name := f.GetName()
			for _, l := range s.GetLabel() {
				name += "{" + l.GetName() + "=" + strconv.Quote(l.GetValue()) + "}"
			}
			got[name] = s.GetCounter().GetValue()
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", diff)
	}
}
