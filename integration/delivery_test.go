package integration

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// Every event reaches every connector whose filter wants it, exactly in
// DT's body layout with only the connector's labels, signed with a token
// that verifies against the raw body, with the connector's headers; a
// connector filtered to temperature sees nothing else.
func TestFilteredSignedDelivery(t *testing.T) {
	e := newEnv(t)
	all := newReceiver(t, nil)
	temps := newReceiver(t, nil)
	e.connector("all", `url = "`+all.URL+`/hook"
  labels = ["name"]
  signature_secret = "s3cret"
  headers = { "X-Api-Key" = "k1" }`)
	e.connector("temps", `url = "`+temps.URL+`"
  events = ["temperature"]`)
	r := e.start()

	code, ans := r.post(t, "application/x-ndjson", fixture(t))
	if code != http.StatusAccepted || ans["accepted"] != float64(19) {
		t.Fatalf("ingest answered %d %v, want 202 with 19 accepted", code, ans)
	}
	waitFor(t, time.Minute, "19 deliveries to all", func() bool { return all.delivered() == 19 })
	waitFor(t, time.Minute, "1 delivery to temps", func() bool { return temps.delivered() == 1 })

	_, reqs := all.snapshot()
	for _, q := range reqs {
		if _, err := signature.VerifyRequest(q.header, q.body, []byte("s3cret"), time.Now()); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		if q.header.Get("X-Api-Key") != "k1" || q.header.Get("Content-Type") != "application/json" ||
			q.header.Get("User-Agent") != "hookpipe/test" {
			t.Errorf("headers %v", q.header)
		}
		checkBody(t, q.body, []string{"name"})
	}
	ok, treqs := temps.snapshot()
	if _, signed := treqs[0].header[signature.Header]; signed {
		t.Error("unsigned connector sent X-Dt-Signature")
	}
	if ok["c0example00000000001"] != 1 {
		t.Errorf("temps got %v, want only the temperature event c0example00000000001", ok)
	}
	checkBody(t, treqs[0].body, nil)
}

// checkBody asserts the body re-renders to the same bytes (so its layout
// and key order are DT's) with only the given label keys.
func checkBody(t *testing.T, body []byte, labels []string) {
	t.Helper()
	var env pipeline.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	for k := range env.Labels {
		if !strings.Contains(strings.Join(labels, ","), k) {
			t.Errorf("label %q sent, connector lists %v", k, labels)
		}
	}
	if want := pipeline.NewRenderer(labels).Append(nil, &env); !bytes.Equal(body, want) {
		t.Errorf("body\n%s\nis not in DT's layout\n%s", body, want)
	}
	if !strings.HasPrefix(string(body), `{"event":{"eventId":`) || !strings.Contains(string(body), `},"metadata":{"deviceId":`) {
		t.Errorf("body layout %s", body)
	}
}

// An endpoint that answers 503 twice per event gets each event a third
// time through the retry tiers, and every event is delivered.
func TestRetryAfter503UntilDelivered(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(_ string, attempt int) int {
		if attempt <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	// Every event fails its first two attempts: with the breaker on, its
	// probes would fail too. This test is about the retry tiers.
	e.connector("flaky", `url = "`+rc.URL+`"
  circuit_breaker { disabled = true }
  retry {
    backoff = ["200ms", "300ms"]
  }`)
	r := e.start()
	const n = 40
	if code, ans := r.post(t, "application/x-ndjson", events("r", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	waitFor(t, 2*time.Minute, "all events delivered after retries", func() bool { return rc.delivered() == n })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, a := range rc.attempts {
		if a < 3 {
			t.Errorf("%s delivered after %d attempts, want 3", id, a)
		}
	}
}

// With the endpoint down, events older than max_age go to the DLQ with
// the reason, are counted as expired, and are never sent again.
func TestExpiryToDLQ(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(string, int) int { return http.StatusBadGateway })
	e.connector("down", `url = "`+rc.URL+`"
  retry {
    backoff = ["300ms"]
    max_age = "2s"
  }`)
	r := e.start()
	const n = 10
	if code, ans := r.post(t, "application/x-ndjson", events("x", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	dlq := e.readAll(e.topics().DLQ("down"), n)
	for _, rec := range dlq {
		m := pipeline.ReadMeta(rec)
		reason := ""
		for _, h := range rec.Headers {
			if h.Key == pipeline.HeaderDLQReason {
				reason = string(h.Value)
			}
		}
		if !strings.HasPrefix(reason, "expired") || m.Attempts < 1 || m.LastError != "502 Bad Gateway" {
			t.Errorf("DLQ record %s: reason %q attempts %d last error %q", m.EventID, reason, m.Attempts, m.LastError)
		}
	}
	if rc.delivered() != 0 {
		t.Fatalf("%d events delivered by an endpoint that always fails", rc.delivered())
	}
	waitFor(t, 10*time.Second, "expired metric", func() bool {
		return strings.Contains(scrape(t, r), `hookpipe_expired_total{connector="down"} 10`)
	})
}

func scrape(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get(r.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// A request with one bad item is refused whole with 400 naming the item
// and field, and writes nothing to Kafka.
func TestBadBatchWritesNothing(t *testing.T) {
	e := newEnv(t)
	r := e.start("ingest")
	batch := `[{"event":{"targetName":"projects/p/devices/d","eventType":"touch","data":{"touch":{}}}},
	           {"event":{"targetName":"projects/p/devices/d","eventType":"tuch","data":{"touch":{}}}}]`
	code, ans := r.post(t, "application/json", []byte(batch))
	msg, _ := ans["error"].(string)
	if code != http.StatusBadRequest || !strings.Contains(msg, "item 1") || !strings.Contains(msg, "eventType") {
		t.Fatalf("answer %d %v, want 400 naming item 1 and eventType", code, ans)
	}
	if n := e.endOffsets(e.topics().Events()); n != 0 {
		t.Fatalf("%d records on the events topic after a refused batch", n)
	}
}
