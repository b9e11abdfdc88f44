package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// testWorker returns a worker for a connector pointed at srv, producing to
// an in-process kfake broker, and a client that reads what it wrote.
func testWorker(t *testing.T, srv *httptest.Server, secret string) (*worker, *kgo.Client) {
	t.Helper()
	topics := pipeline.Topics{Prefix: "t"}
	u, _ := url.Parse(srv.URL)
	conn := &pipeline.Connector{
		Name: "c", URL: u, Timeout: 200 * time.Millisecond, MaxInFlight: 10, SignatureSecret: secret,
		Headers: map[string]string{"X-Key": "v"},
		Retry:   pipeline.RetryPolicy{Backoff: []time.Duration{time.Second, time.Minute}, MaxAge: time.Hour},
	}
	var names []string
	for _, s := range topics.Specs([]*pipeline.Connector{conn}) {
		names = append(names, s.Name)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, names...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := kafka.Config{Brokers: c.ListenAddrs()}
	prod, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	read, err := kc.NewClient(kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(read.Close)
	w := newWorker(Config{Topics: topics, Producer: prod, Version: "v1"}, conn)
	w.tiers[topics.Connector("c")] = -1
	w.tiers[topics.Retry("c", 0)] = 0
	w.tiers[topics.Retry("c", 1)] = 1
	return w, read
}

func record(topic string, ingest time.Time, attempts int) *kgo.Record {
	m := pipeline.Meta{IngestTime: ingest, EventID: "e1", EventType: "touch", Attempts: attempts}
	r := m.Record(topic, []byte("d1"), []byte(`{"event":{}}`), "")
	r.Timestamp = time.Now()
	return r
}

func next(t *testing.T, cl *kgo.Client) *kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		fs := cl.PollRecords(ctx, 1)
		if recs := fs.Records(); len(recs) == 1 {
			return recs[0]
		}
		if ctx.Err() != nil {
			t.Fatalf("no record written: %v", fs.Errors())
		}
	}
}

// Each outcome moves the record to the right place: a failure from the
// main topic to tier 0, from tier 0 to tier 1, from the last tier back to
// the last tier, with the attempt count and last error; an event past
// max_age to the DLQ without being sent.
func TestWorkerOutcomes(t *testing.T) {
	sent := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		sent++
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	w, read := testWorker(t, srv, "")
	tp := w.topics
	cases := []struct {
		from   string
		ingest time.Time
		want   string
		sends  int
	}{
		{tp.Connector("c"), time.Now(), tp.Retry("c", 0), 1},
		{tp.Retry("c", 0), time.Now(), tp.Retry("c", 1), 1},
		{tp.Retry("c", 1), time.Now(), tp.Retry("c", 1), 1},
		{tp.Retry("c", 1), time.Now().Add(-2 * time.Hour), tp.DLQ("c"), 0},
	}
	for _, c := range cases {
		before := sent
		if err := w.handle(context.Background(), record(c.from, c.ingest, 2)); err != nil {
			t.Fatalf("%s: %v", c.from, err)
		}
		got := next(t, read)
		m := pipeline.ReadMeta(got)
		if got.Topic != c.want || sent-before != c.sends {
			t.Errorf("from %s: went to %s after %d requests, want %s after %d", c.from, got.Topic, sent-before, c.want, c.sends)
		}
		if c.sends > 0 && (m.Attempts != 3 || m.LastError != "503 Service Unavailable") {
			t.Errorf("from %s: attempts %d last error %q", c.from, m.Attempts, m.LastError)
		}
		if !m.IngestTime.Equal(c.ingest.Truncate(time.Millisecond)) {
			t.Errorf("from %s: ingest time %v changed from %v", c.from, m.IngestTime, c.ingest)
		}
	}
}

// A retry record is due its tier's delay after it entered the tier, or at
// expiry when that is sooner.
func TestWorkerDueAt(t *testing.T) {
	w, _ := testWorker(t, httptest.NewServer(http.NotFoundHandler()), "")
	now := time.Now()
	r := record(w.topics.Retry("c", 1), now, 1)
	if got := w.dueAt(r); !got.Equal(r.Timestamp.Add(time.Minute)) {
		t.Errorf("due %v, want a minute after %v", got, r.Timestamp)
	}
	old := record(w.topics.Retry("c", 1), now.Add(-59*time.Minute-30*time.Second), 1)
	if got, want := w.dueAt(old), pipeline.ReadMeta(old).IngestTime.Add(time.Hour); !got.Equal(want) {
		t.Errorf("due %v, want expiry %v", got, want)
	}
}

// A request carries the body, Content-Type, User-Agent, the connector's
// headers and a signature that verifies; a timeout, a redirect and a
// refused connection are failures of their class.
func TestSender(t *testing.T) {
	first := make(chan *http.Request, 1) // the first request; handlers run concurrently
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case first <- r:
		default:
		}
		switch r.URL.Query().Get("do") {
		case "sleep":
			<-r.Context().Done()
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	}))
	defer srv.Close()
	w, _ := testWorker(t, srv, "k")
	res := w.sender.Send(context.Background(), []byte(`{"a":1}`))
	got := <-first
	if !res.OK || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("User-Agent") != "hookpipe/v1" || got.Header.Get("X-Key") != "v" {
		t.Fatalf("result %+v headers %v", res, got.Header)
	}
	if _, err := signature.VerifyRequest(got.Header, []byte(`{"a":1}`), []byte("k"), time.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	for _, c := range []struct{ query, class string }{{"sleep", "timeout"}, {"redirect", "3xx"}} {
		s := NewSender(w.conn, "v1", nil)
		s.url = srv.URL + "?do=" + c.query
		if res := s.Send(context.Background(), nil); res.OK || res.Class != c.class {
			t.Errorf("%s: %+v, want class %s", c.query, res, c.class)
		}
	}
	s := NewSender(w.conn, "v1", nil)
	s.url = "http://127.0.0.1:1"
	if res := s.Send(context.Background(), nil); res.Class != "network" || res.Err == "" {
		t.Errorf("refused: %+v", res)
	}
}
