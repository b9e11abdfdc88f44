package integration

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint is a receiver whose every answer is decided by answer, which
// may set headers; it records when each request came, how many ran at
// once at most, and which events got a 2xx.
type endpoint struct {
	*httptest.Server
	answer func(w http.ResponseWriter, n int) int

	mu       sync.Mutex
	times    []time.Time
	ok       map[string]int // eventId → 2xx answers
	running  int
	maxConc  int
	requests atomic.Int64
}

func newEndpoint(t *testing.T, answer func(w http.ResponseWriter, n int) int) *endpoint {
	ep := &endpoint{answer: answer, ok: map[string]int{}}
	ep.Server = httptest.NewServer(http.HandlerFunc(ep.serve))
	t.Cleanup(ep.Close)
	return ep
}

func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 4096)
	n, _ := r.Body.Read(body)
	id := eventID(body[:n])
	ep.mu.Lock()
	ep.times = append(ep.times, time.Now())
	ep.running++
	ep.maxConc = max(ep.maxConc, ep.running)
	ep.mu.Unlock()
	code := ep.answer(w, int(ep.requests.Add(1)))
	ep.mu.Lock()
	ep.running--
	if code < 300 {
		ep.ok[id]++
	}
	ep.mu.Unlock()
	w.WriteHeader(code)
}

func (ep *endpoint) delivered() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return len(ep.ok)
}

// result logs the RESULT line of a fault: events sent, lost (accepted,
// never answered 2xx) and duplicates (2xx answers beyond the first).
func (ep *endpoint) result(t *testing.T, fault string, sent []string) {
	t.Helper()
	ep.mu.Lock()
	defer ep.mu.Unlock()
	lost, dups := 0, 0
	for _, id := range sent {
		if ep.ok[id] == 0 {
			lost++
		}
	}
	for _, n := range ep.ok {
		dups += max(n-1, 0)
	}
	t.Logf("RESULT fault=%q broker=%q sent=%d lost=%d duplicates=%d requests=%d", fault, suiteBroker.kind, len(sent), lost, dups, ep.requests.Load())
	if lost > 0 {
		t.Errorf("%d of %d events lost", lost, len(sent))
	}
}

// resetConcurrency starts a new measure of the most requests at once.
func (ep *endpoint) resetConcurrency() {
	ep.mu.Lock()
	ep.maxConc = ep.running
	ep.mu.Unlock()
}

func (ep *endpoint) concurrency() int {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.maxConc
}

func (ep *endpoint) requestTimes() []time.Time {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return append([]time.Time(nil), ep.times...)
}

// gauge reads one series of /metrics; -1 when absent.
func gauge(t *testing.T, r *running, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(scrape(t, r))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// With the endpoint down the breaker opens: one probe at a time, far
// fewer requests than events, nothing copied per event and tier; once the
// endpoint is back a probe closes it, the in-flight limit ramps back from
// one request (per stage) to max_in_flight, and every event is delivered.
func TestBreakerOpensProbesCloses(t *testing.T) {
	e := newEnv(t)
	var down atomic.Bool
	var firstOK atomic.Int64 // unix ns of the first 2xx answer
	down.Store(true)
	ep := newEndpoint(t, func(http.ResponseWriter, int) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		time.Sleep(100 * time.Millisecond) // the recovered endpoint takes 100 ms per request
		firstOK.CompareAndSwap(0, time.Now().UnixNano())
		return http.StatusOK
	})
	e.connector("cb", `url = "`+ep.URL+`"
  max_in_flight = 10
  circuit_breaker {
    min_requests = 5
    cooldown     = "300ms"
  }
  retry {
    backoff = ["200ms", "500ms"]
  }`)
	r := e.start()
	waitReady(t, r)
	const n = 300
	sent := ingest(t, r, "cb", n)
	waitFor(t, 30*time.Second, "CIRCUIT_OPEN", func() bool { s, _ := connectorState(t, r, "cb"); return s == "CIRCUIT_OPEN" })
	_, v := connectorState(t, r, "cb")
	if v["reopensAt"] == nil {
		t.Errorf("CIRCUIT_OPEN without reopensAt: %v", v)
	}
	ep.resetConcurrency()
	before := ep.requests.Load()
	time.Sleep(3 * time.Second) // the outage goes on: only probes reach the endpoint
	during := ep.requests.Load() - before
	if c := ep.concurrency(); c > 1 {
		t.Errorf("%d requests at once while the breaker was open, want 1 probe", c)
	}
	total := ep.requests.Load()
	t.Logf("RESULT fault=%q broker=%q events=%d requests_while_down=%d requests_in_3s_open=%d", "endpoint down, breaker open",
		suiteBroker.kind, n, total, during)
	if total > n/2 {
		t.Errorf("%d requests for %d events while the endpoint was down, want far fewer", total, n)
	}
	if during > 12 { // probes at 0.3, 0.6, 1.2, 2.4 s after opening, at most
		t.Errorf("%d requests in 3 s with the breaker open, want only probes", during)
	}
	ep.resetConcurrency()
	down.Store(false)
	waitFor(t, time.Minute, "every event delivered after recovery", func() bool { return ep.delivered() == len(sent) })
	ep.result(t, "endpoint down 3s+, breaker open, then back", sent)
	if s, _ := connectorState(t, r, "cb"); s != "ACTIVE" {
		t.Errorf("state %s after recovery, want ACTIVE", s)
	}
	// Slow start: in the round trip after the probe's 2xx, each of the
	// deliver and retry stages sends one request, not max_in_flight (10);
	// then the limit grows with every 2xx up to max_in_flight.
	ok := time.Unix(0, firstOK.Load())
	early := 0
	for _, at := range ep.requestTimes() {
		if !at.Before(ok) && at.Before(ok.Add(50*time.Millisecond)) {
			early++
		}
	}
	t.Logf("ramp: %d requests in the 50 ms after the probe's 2xx; %d at once at most after recovery", early, ep.concurrency())
	if early > 2 {
		t.Errorf("%d requests in the 50 ms after the probe's 2xx, want at most 2 (one per stage) while the limit ramps", early)
	}
	if c := ep.concurrency(); c < 8 {
		t.Errorf("at most %d requests at once after recovery, want the limit ramped back towards max_in_flight 10", c)
	}
}

// A 429 with Retry-After, in seconds or as an HTTP-date, stops the whole
// connector until then: the next request comes no sooner.
func TestThrottledByRetryAfter(t *testing.T) {
	for _, form := range []string{"seconds", "http-date"} {
		t.Run(form, func(t *testing.T) {
			e := newEnv(t)
			var until atomic.Int64 // unix ns of the Retry-After given
			ep := newEndpoint(t, func(w http.ResponseWriter, n int) int {
				if n > 1 {
					return http.StatusOK
				}
				at := time.Now().Add(2 * time.Second)
				if form == "seconds" {
					w.Header().Set("Retry-After", "2")
				} else {
					at = time.Now().Truncate(time.Second).Add(3 * time.Second) // dates have whole seconds
					w.Header().Set("Retry-After", at.UTC().Format(http.TimeFormat))
				}
				until.Store(at.UnixNano())
				return http.StatusTooManyRequests
			})
			e.connector("th", `url = "`+ep.URL+`"
  max_in_flight = 1
  retry {
    backoff = ["100ms", "10s"]
  }`)
			r := e.start()
			waitReady(t, r)
			sent := ingest(t, r, "th", 20)
			waitFor(t, 30*time.Second, "every event delivered", func() bool { return ep.delivered() == len(sent) })
			times := ep.requestTimes()
			if len(times) < 2 {
				t.Fatalf("%d requests", len(times))
			}
			want := time.Unix(0, until.Load())
			if early := want.Sub(times[1]); early > 50*time.Millisecond {
				t.Errorf("second request %s before the Retry-After time", early)
			}
			if v := gauge(t, r, `hookpipe_throttled_total{connector="th"}`); v != 1 {
				t.Errorf("hookpipe_throttled_total = %v, want 1", v)
			}
			t.Logf("Retry-After (%s) honoured: next request %s after the 429", form, times[1].Sub(times[0]).Round(time.Millisecond))
			ep.result(t, "429 with Retry-After ("+form+")", sent)
		})
	}
}

// A 410 disables the connector at once: no more requests, its events
// wait; :enable resumes and delivers every one.
func TestGoneDisablesUntilEnabled(t *testing.T) {
	e := newEnv(t)
	var gone atomic.Bool
	gone.Store(true)
	ep := newEndpoint(t, func(http.ResponseWriter, int) int {
		if gone.Load() {
			return http.StatusGone
		}
		return http.StatusOK
	})
	e.connector("gone", `url = "`+ep.URL+`"
  max_in_flight = 1
  retry {
    backoff = ["100ms"]
  }`)
	r := e.start()
	waitReady(t, r)
	sent := ingest(t, r, "gone", 30)
	waitFor(t, 30*time.Second, "SYSTEM_DISABLED", func() bool { s, _ := connectorState(t, r, "gone"); return s == "SYSTEM_DISABLED" })
	if _, v := connectorState(t, r, "gone"); v["reason"] != "the endpoint answered 410 Gone" {
		t.Errorf("reason %v", v["reason"])
	}
	before := ep.requests.Load()
	time.Sleep(time.Second) // disabled: nothing may be sent meanwhile
	if after := ep.requests.Load(); after != before || after > 2 {
		t.Errorf("%d requests after the 410 (%d before), want none", after-before, before)
	}
	gone.Store(false)
	control(t, r, "gone", "enable")
	waitFor(t, 30*time.Second, "every event delivered after :enable", func() bool { return ep.delivered() == len(sent) })
	ep.result(t, "410, then :enable", sent)
}

// disable_after without a 2xx puts the connector in SYSTEM_DISABLED.
func TestDisableAfter(t *testing.T) {
	e := newEnv(t)
	ep := newEndpoint(t, func(http.ResponseWriter, int) int { return http.StatusInternalServerError })
	e.connector("da", `url = "`+ep.URL+`"
  disable_after = "1s"
  circuit_breaker { disabled = true }
  retry {
    backoff = ["100ms"]
  }`)
	r := e.start()
	waitReady(t, r)
	ingest(t, r, "da", 5)
	waitFor(t, 30*time.Second, "SYSTEM_DISABLED", func() bool { s, _ := connectorState(t, r, "da"); return s == "SYSTEM_DISABLED" })
	if _, v := connectorState(t, r, "da"); v["reason"] != "no 2xx answer for 1s (disable_after)" {
		t.Errorf("reason %v", v["reason"])
	}
	if v := gauge(t, r, `hookpipe_connector_state{connector="da",state="SYSTEM_DISABLED"}`); v != 1 {
		t.Errorf("hookpipe_connector_state SYSTEM_DISABLED = %v", v)
	}
}

// rate_limit holds within 10 % for the cluster: one process alone, and
// two processes that each take their share of the connector's partitions.
func TestRateLimit(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(strconv.Itoa(procs)+"-processes", func(t *testing.T) { // a name Kafka takes in a topic
			e := newEnv(t)
			ep := newEndpoint(t, func(http.ResponseWriter, int) int { return http.StatusOK })
			e.connector("rl", `url = "`+ep.URL+`"
  rate_limit = 50
  retry {
    backoff = ["1s"]
  }`)
			var rs []*running
			for range procs {
				rs = append(rs, e.start())
			}
			for _, r := range rs {
				waitReady(t, r)
			}
			sent := ingest(t, rs[0], "rl", 250)
			waitFor(t, time.Minute, "every event delivered", func() bool { return ep.delivered() == len(sent) })
			// Past the first burst, and while every process still has
			// events: a process with fewer of the main topic's partitions
			// than its share of all the connector's partitions runs out
			// first.
			times := ep.requestTimes()
			first, last := 25, 125
			rate := float64(last-first) / times[last].Sub(times[first]).Seconds()
			t.Logf("RESULT rate_limit=50 processes=%d measured=%.1f/s over requests %d-%d", procs, rate, first, last)
			ep.result(t, "rate_limit 50/s", sent)
			if rate < 45 || rate > 55 {
				t.Errorf("%.1f requests/s over %d process(es), want 50 ± 10%%", rate, procs)
			}
		})
	}
}

// Time to loss: the oldest pending event's age rises while the endpoint
// is down and falls to 0 once it is back; expiresIn shrinks meanwhile.
func TestTimeToLoss(t *testing.T) {
	e := newEnv(t)
	var down atomic.Bool
	down.Store(true)
	ep := newEndpoint(t, func(http.ResponseWriter, int) int {
		if down.Load() {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	e.connector("ttl", `url = "`+ep.URL+`"
  circuit_breaker {
    min_requests = 5
    cooldown     = "200ms"
  }
  retry {
    backoff = ["200ms"]
    max_age = "1h"
  }`)
	r := e.start()
	waitReady(t, r)
	sent := ingest(t, r, "ttl", 50)
	series := `hookpipe_oldest_pending_seconds{connector="ttl"}`
	waitFor(t, 30*time.Second, "oldest pending age to reach 2s", func() bool { return gauge(t, r, series) >= 2 })
	left := gauge(t, r, `hookpipe_seconds_until_expiry{connector="ttl"}`)
	if left <= 0 || left > 3600-2 {
		t.Errorf("seconds until expiry %v, want under 3598", left)
	}
	if _, v := connectorState(t, r, "ttl"); v["oldestPendingAge"] == "0.000s" {
		t.Errorf("API oldestPendingAge %v during the outage", v["oldestPendingAge"])
	}
	down.Store(false)
	waitFor(t, time.Minute, "every event delivered", func() bool { return ep.delivered() == len(sent) })
	waitFor(t, 10*time.Second, "oldest pending age back to 0", func() bool { return gauge(t, r, series) == 0 })
	ep.result(t, "time to loss during an outage", sent)
}
