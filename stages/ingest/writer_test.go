package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newWriter returns a running Writer on a transactional client of c; it
// stops when the test ends. timeout 0 takes the default.
func newWriter(t *testing.T, c *kfake.Cluster, timeout time.Duration) *Writer {
	t.Helper()
	cl, err := kafka.Config{Brokers: c.ListenAddrs()}.NewClient(kgo.TransactionalID("test-ingest"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(WriterConfig{Client: cl, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
		cl.Close()
	})
	return w
}

// visible returns the records of the events topic a read_committed
// consumer sees, in every partition up to a sentinel this call writes
// after everything the test did; read_uncommitted ones when uncommitted is
// set. Sentinels (this call's and earlier calls') are not returned.
func visible(t *testing.T, c *kfake.Cluster, uncommitted bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	const parts = 3
	mine := []byte(sentinel + strconv.FormatInt(sentinels.Add(1), 10))
	for p := range int32(parts) {
		rec := &kgo.Record{Topic: testTopic, Partition: p, Value: mine}
		if err := prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	iso := kgo.ReadCommitted()
	if uncommitted {
		iso = kgo.ReadUncommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for seen := 0; seen < parts; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading up to the sentinels (%d of %d seen): %v", seen, parts, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			switch {
			case bytes.Equal(r.Value, mine):
				seen++
			case !bytes.HasPrefix(r.Value, []byte(sentinel)):
				out = append(out, r)
			}
		})
	}
	return out
}

// sentinel prefixes the records visible writes; sentinels numbers them, so
// that each call waits for its own in every partition.
const sentinel = "sentinel-"

var sentinels atomic.Int64

// committedCount returns how many records of the events topic a
// read_committed consumer sees.
func committedCount(t *testing.T, c *kfake.Cluster) int {
	t.Helper()
	return len(visible(t, c, false))
}

// TestAbortedRequestLeavesNothing pins all-or-nothing: when Kafka takes
// some of a request's records but fails the others, the answer is 503
// and a read_committed consumer sees none of the request's events, though
// the log holds them (so the check could fail), while the next request is
// stored whole.
func TestAbortedRequestLeavesNothing(t *testing.T) {
	c, _ := newCluster(t)
	h := NewHandler(Config{Writer: newWriter(t, c, 2*time.Second), Topic: testTopic})
	body := ndjson(12)
	failOnePartition(c)
	w := post(h, body, "application/x-ndjson", "")
	checkAnswer(t, w, http.StatusServiceUnavailable, `{"error":"kafka unavailable, retry later"}`)
	if n := len(visible(t, c, true)); n == 0 || n == 12 {
		t.Fatalf("the log holds %d of the aborted request's 12 records; the test needs a partial write", n)
	}
	if n := committedCount(t, c); n != 0 {
		t.Errorf("a read_committed consumer sees %d records of a request answered 503, want 0", n)
	}
	if w := post(h, body, "application/x-ndjson", ""); w.Code != http.StatusAccepted {
		t.Fatalf("the retry: %d %s, want 202", w.Code, w.Body)
	}
	if n := committedCount(t, c); n != 12 {
		t.Errorf("after the retry a read_committed consumer sees %d records, want 12", n)
	}
}

// ndjson returns n events of distinct devices, so that they spread over
// the partitions.
func ndjson(n int) string {
	var out []byte
	for i := range n {
		env := map[string]any{
			"event": map[string]any{
				"eventType":  "temperature",
				"targetName": "projects/p1/devices/dev" + string(rune('a'+i)),
				"data":       map[string]any{"temperature": map[string]any{"value": i}},
			},
		}
		b, _ := json.Marshal(env)
		out = append(append(out, b...), '\n')
	}
	return string(out)
}

// failOnePartition makes c write every partition of the next produce
// request but the first one, and refuse that one, when it comes alone,
// with a non-retriable error: a request's events are then partly in the
// log when its transaction fails.
func failOnePartition(c *kfake.Cluster) {
	var mu sync.Mutex
	failed, refused := int32(-1), false
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		if refused || req.TransactionID == nil { // the test's own reads and sentinels pass
			return nil, nil, false
		}
		for ti := range req.Topics {
			rt := &req.Topics[ti]
			for pi, rp := range rt.Partitions {
				if failed < 0 && len(rt.Partitions) > 1 {
					failed = rp.Partition
				}
				if rp.Partition != failed {
					continue
				}
				if len(req.Topics) == 1 && len(rt.Partitions) == 1 {
					resp := req.ResponseKind().(*kmsg.ProduceResponse)
					st := kmsg.NewProduceResponseTopic()
					st.Topic, st.TopicID = rt.Topic, rt.TopicID
					sp := kmsg.NewProduceResponseTopicPartition()
					sp.Partition, sp.ErrorCode = rp.Partition, kerr.TopicAuthorizationFailed.Code
					st.Partitions = append(st.Partitions, sp)
					resp.Topics = append(resp.Topics, st)
					refused = true
					return resp, nil, true
				}
				rt.Partitions = append(rt.Partitions[:pi:pi], rt.Partitions[pi+1:]...)
				return nil, nil, false
			}
		}
		return nil, nil, false
	})
}

// TestWriterGroupsConcurrentRequests pins that concurrent requests are all
// committed, each whole.
func TestWriterGroupsConcurrentRequests(t *testing.T) {
	c, _ := newCluster(t)
	w := newWriter(t, c, 0)
	const n, per = 50, 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			recs := make([]*kgo.Record, per)
			for j := range recs {
				recs[j] = &kgo.Record{Topic: testTopic, Key: []byte{byte(i), byte(j)}, Value: []byte("v")}
			}
			errs[i] = w.Write(context.Background(), recs)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := committedCount(t, c); got != n*per {
		t.Errorf("a read_committed consumer sees %d records, want %d", got, n*per)
	}
}

// TestWriterNotRunning pins that Write fails with ErrNotStored when no
// transaction can start within the timeout.
func TestWriterNotRunning(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.TransactionalID("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w, err := NewWriter(WriterConfig{Client: cl, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(context.Background(), []*kgo.Record{{Topic: testTopic}})
	if !errors.Is(err, ErrNotStored) {
		t.Errorf("Write = %v, want ErrNotStored", err)
	}
}

// TestWriterAbandonedRequestNeverCommits pins that a request answered
// ErrNotStored because Kafka held its produce past the deadline is never
// committed once Kafka answers after all: a read_committed consumer sees
// nothing of it, and the writer serves the next request.
func TestWriterAbandonedRequestNeverCommits(t *testing.T) {
	c, _ := newCluster(t)
	w := newWriter(t, c, 500*time.Millisecond)
	release := make(chan struct{})
	var held atomic.Bool
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if held.CompareAndSwap(false, true) {
			<-release // the broker sits on the first produce
		}
		return nil, nil, false
	})
	rec := func(v string) []*kgo.Record {
		return []*kgo.Record{{Topic: testTopic, Key: []byte(v), Value: []byte(v)}}
	}
	err := w.Write(context.Background(), rec("late"))
	close(release)
	if !errors.Is(err, ErrNotStored) {
		t.Fatalf("Write with the produce held: %v, want ErrNotStored", err)
	}
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if last = w.Write(context.Background(), rec("next")); last == nil {
			break
		}
	}
	if last != nil {
		t.Fatalf("the writer did not serve the next request: %v", last)
	}
	for _, r := range visible(t, c, false) {
		if string(r.Value) == "late" {
			t.Errorf("the abandoned request's record was committed")
		}
	}
}
