package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Faults at the endpoint: an outage, expiry past max_age, and requests
// that never answer; and a goroutine-leak check of a stopped pipeline.

// Invariant: an endpoint that fails everything for a while and then
// recovers gets every event (through the retry tiers); events that pass
// max_age while it is down go to the DLQ, are counted in
// hookpipe_expired_total, and are never delivered late.
func TestFaultEndpointOutage(t *testing.T) {
	t.Run("recovers", func(t *testing.T) {
		began := time.Now()
		e := newEnv(t)
		n := size(500, 5000)
		var down atomic.Bool
		down.Store(true)
		var failed atomic.Int64
		rc := newReceiver(t, func(string, int) int {
			if down.Load() {
				failed.Add(1)
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		e.connector("outage", `url = "`+rc.URL+`"
  retry {
    backoff = ["200ms", "500ms"]
  }`)
		r := e.start()
		sent := ingest(t, r, "out", n)
		// Every event is attempted once, unless the circuit breaker opens
		// first and keeps the rest waiting in Kafka.
		waitFor(t, time.Minute, "every event attempted once, or the breaker open, while the endpoint is down",
			func() bool {
				s, _ := connectorState(t, r, "outage")
				return failed.Load() >= int64(n) || s == "CIRCUIT_OPEN"
			})
		time.Sleep(2 * time.Second) // the outage window: retries keep failing
		if d := rc.delivered(); d != 0 {
			t.Fatalf("%d events delivered while the endpoint failed everything", d)
		}
		down.Store(false)
		t.Logf("endpoint back after %d failed requests", failed.Load())
		expectAllDelivered(t, "endpoint outage 2s", suiteBroker.kind, rc, sent, 2*time.Minute, began)
	})
	t.Run("expires", func(t *testing.T) {
		began := time.Now()
		e := newEnv(t)
		n := size(100, 2000)
		var down atomic.Bool
		down.Store(true)
		rc := newReceiver(t, func(id string, attempt int) int {
			switch {
			case down.Load():
				return http.StatusBadGateway
			case attempt <= 2 && len(id) > 5 && id[:5] == "late_":
				return http.StatusServiceUnavailable // through both tiers
			}
			return http.StatusOK
		})
		// The breaker is off: fresh events fail their first two attempts,
		// and this test is about the retry tiers and expiry.
		e.connector("expiry", `url = "`+rc.URL+`"
  circuit_breaker { disabled = true }
  retry {
    backoff = ["200ms", "500ms"]
    max_age = "2s"
  }`)
		r := e.start()
		expired := ingest(t, r, "old", n)
		dlq := e.readAll(e.topics().DLQ("expiry"), n)
		inDLQ := map[string]int{}
		for _, rec := range dlq {
			inDLQ[eventID(rec.Value)]++
		}
		for _, id := range expired {
			if inDLQ[id] == 0 {
				t.Errorf("%s not in the DLQ", id)
			}
		}
		down.Store(false)
		// Fresh events fail twice, so they pass through both retry tiers on
		// every partition: once they are delivered, the tiers have moved
		// past anything the expired events left there.
		late := ingest(t, r, "late", 60)
		expectAllDelivered(t, "endpoint down past max_age (fresh events after)", suiteBroker.kind, rc, late, time.Minute, began)
		ok, _ := rc.snapshot()
		lateDeliveries := 0
		for _, id := range expired {
			lateDeliveries += ok[id]
		}
		if lateDeliveries != 0 {
			t.Errorf("%d deliveries of events already in the DLQ", lateDeliveries)
		}
		waitFor(t, 10*time.Second, "hookpipe_expired_total counts them", func() bool { return expiredTotal(t, r, "expiry") >= n })
		t.Logf("RESULT fault=%q broker=%q expired=%d dlq_records=%d expired_total=%d delivered_after_dlq=%d",
			"expiry past max_age", suiteBroker.kind, n, len(dlq), expiredTotal(t, r, "expiry"), lateDeliveries)
	})
}

// ingest posts n events tagged tag in batches and returns their ids; it
// fails the test unless every batch is acknowledged.
func ingest(t *testing.T, r *running, tag string, n int) []string {
	t.Helper()
	l := newLoader(tag, 100, func() []string { return []string{r.p.Addr()} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.run(ctx, n, 0); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return l.sentIDs()
}

var idRE = regexp.MustCompile(`"eventId":"([^"]+)"`)

func eventID(body []byte) string {
	if m := idRE.FindSubmatch(body); m != nil {
		return string(m[1])
	}
	return ""
}

// expiredTotal reads hookpipe_expired_total for connector from /metrics.
func expiredTotal(t *testing.T, r *running, connector string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^hookpipe_expired_total\{connector="` + regexp.QuoteMeta(connector) + `"\} (\S+)$`)
	m := re.FindStringSubmatch(scrape(t, r))
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return int(v)
}

// Invariant: a request the endpoint never answers is cut at the
// connector's timeout and retried, and does not hold up the commit: the
// deliver group's committed offsets reach the end of the connector topic.
func TestFaultStuckEndpoint(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n := size(200, 3000)
	const timeout = 300 * time.Millisecond
	rc := &receiver{ok: map[string]int{}, attempts: map[string]int{}}
	var mu sync.Mutex
	first := map[string]bool{}
	var stuck []time.Duration
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := eventID(body)
		mu.Lock()
		seen := first[id]
		first[id] = true
		mu.Unlock()
		if !seen { // the first attempt never gets an answer
			t0 := time.Now()
			<-r.Context().Done()
			mu.Lock()
			stuck = append(stuck, time.Since(t0))
			mu.Unlock()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.serve(w, r)
	}))
	t.Cleanup(rc.Close)
	e.connector("stuck", fmt.Sprintf(`url = %q
  timeout = %q
  retry {
    backoff = ["200ms"]
  }`, rc.URL, timeout))
	r := e.start()
	sent := ingest(t, r, "stuck", n)
	expectAllDelivered(t, "stuck first attempt (timeout 300ms)", suiteBroker.kind, rc, sent, 2*time.Minute, began)
	mu.Lock()
	var longest time.Duration
	for _, d := range stuck {
		longest = max(longest, d)
	}
	cut := len(stuck)
	mu.Unlock()
	t.Logf("%d stuck requests, the longest held %s", cut, longest)
	if cut < n {
		t.Errorf("%d stuck first attempts, want %d", cut, n)
	}
	if longest > timeout+5*time.Second {
		t.Errorf("a stuck request was held %s; the connector timeout is %s", longest, timeout)
	}
	waitCommitted(t, e, e.topics().DeliverGroup(), e.topics().Connector("stuck"))
	waitCommitted(t, e, e.topics().RetryGroup(), e.topics().Retry("stuck", 0))
}

// waitCommitted waits until group's committed offsets on topic reach the
// topic's end offsets on every partition.
func waitCommitted(t *testing.T, e *env, group, topic string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, detail, err := committedLag(e.kafka(), group, topic)
		if err == nil && lag == 0 {
			t.Logf("group %s committed to the end of %s:%s", group, topic, detail)
			return
		}
		last = fmt.Sprint(detail, err)
		if time.Now().After(deadline) {
			t.Fatalf("group %s never committed to the end of %s:%s", group, topic, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// committedLag returns how many records of topic lie past group's
// committed offsets, with the per-partition detail.
func committedLag(kc kafka.Config, group, topic string) (lag int64, detail string, err error) {
	cl, err := kc.NewClient()
	if err != nil {
		return 0, "", err
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, "", err
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, "", err
	}
	ends.Each(func(o kadm.ListedOffset) {
		c, _ := committed.Lookup(topic, o.Partition)
		at := max(c.At, 0)
		detail += fmt.Sprintf(" p%d committed %d end %d;", o.Partition, c.At, o.Offset)
		lag += max(o.Offset-at, 0)
	})
	return lag, detail, nil
}

// settledGoroutines waits (up to 10 s) until the goroutine count has not
// fallen for a second and returns it.
func settledGoroutines() int {
	low, since := runtime.NumGoroutine(), time.Now()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && time.Since(since) < time.Second; {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n < low {
			low, since = n, time.Now()
		}
	}
	return low
}

// Invariant: a pipeline that has stopped leaves no goroutines behind —
// consumers, producers, the HTTP server and in-flight deliveries all end.
func TestFaultGoroutineLeak(t *testing.T) {
	e := newEnv(t)
	http.DefaultClient.CloseIdleConnections()
	base := settledGoroutines() // earlier tests' goroutines may still be ending
	rc := newReceiver(t, slowOK(time.Millisecond))
	e.connector("leak", `url = "`+rc.URL+`"
  retry {
    backoff = ["200ms"]
  }`)
	r := e.start()
	sent := ingest(t, r, "leak", 300)
	expectAllDelivered(t, "none (leak check)", suiteBroker.kind, rc, sent, time.Minute, time.Now())
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	rc.Close() // ends the endpoint's side of keep-alive connections
	http.DefaultClient.CloseIdleConnections()
	const slack = 3
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > base+slack {
		if time.Now().After(deadline) {
			var b bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Fatalf("%d goroutines 15s after the pipeline stopped, %d before it started:\n%s", runtime.NumGoroutine(), base, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("goroutines: %d before start, %d after stop", base, runtime.NumGoroutine())
}
