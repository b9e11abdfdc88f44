package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// deviceReceiver is an endpoint that keeps, per device, the sequence
// numbers it answered 2xx, in the order it answered them (re-sends
// included). fail decides a request's answer from its event id and
// attempt.
type deviceReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	answered map[string][]int // device → seqs answered 2xx, in order
	attempts map[string]int   // event id → requests
	fail     func(id string, attempt int) bool
}

func newDeviceReceiver(t *testing.T, fail func(string, int) bool) *deviceReceiver {
	rc := &deviceReceiver{answered: map[string][]int{}, attempts: map[string]int{}, fail: fail}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *deviceReceiver) serve(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Event struct {
			EventID string `json:"eventId"`
		} `json:"event"`
		Metadata struct {
			DeviceID string `json:"deviceId"`
		} `json:"metadata"`
	}
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	time.Sleep(2 * time.Millisecond) // keep requests in flight
	id := b.Event.EventID
	seq, _ := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts[id]++
	if rc.fail(id, rc.attempts[id]) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.answered[b.Metadata.DeviceID] = append(rc.answered[b.Metadata.DeviceID], seq)
	w.WriteHeader(http.StatusNoContent)
}

// firstDeliveries returns each device's sequence of first 2xx answers:
// the answered sequence without re-sends.
func (rc *deviceReceiver) firstDeliveries() map[string][]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string][]int{}
	for dev, seqs := range rc.answered {
		seen := map[int]bool{}
		for _, s := range seqs {
			if !seen[s] {
				seen[s] = true
				out[dev] = append(out[dev], s)
			}
		}
	}
	return out
}

func (rc *deviceReceiver) count() int {
	n := 0
	for _, seqs := range rc.firstDeliveries() {
		n += len(seqs)
	}
	return n
}

// deviceEvents is round's NDJSON: event <round> of each device, as
// o-<device>-<round>.
func deviceEvents(devices, round int) []byte {
	var b bytes.Buffer
	for d := range devices {
		fmt.Fprintf(&b, `{"event":{"eventId":"o-dev%d-%d","targetName":"projects/p1/devices/dev%d","eventType":"temperature","data":{"temperature":{"value":%d.5,"updateTime":"2026-11-25T10:00:00Z"}}}}`+"\n", d, round, d, round%40)
	}
	return b.Bytes()
}

func postEvents(t *testing.T, addr string, body []byte) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST /v1/events: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %s", resp.Status)
	}
}

// A connector with ordering = "device" served by a real `hookpipe run`:
// events of several devices, posted interleaved, reach the endpoint in
// each device's ingest order, with failed first attempts retried in place,
// and across a SIGKILL of the process mid-stream nothing is lost and each
// device's first deliveries stay in order (re-sends aside), even with a
// device held by a failing event at the kill.
func TestOrderingPerDeviceAcrossRestart(t *testing.T) {
	e := newEnv(t)
	rc := newDeviceReceiver(t, func(id string, attempt int) bool {
		// Some first attempts fail, and dev0's event 5 fails three times
		// (about a second held), so that the SIGKILL finds it held.
		return attempt == 1 && strings.HasSuffix(id, "7") || id == "o-dev0-5" && attempt <= 3
	})
	e.connector("ordered", `url = "`+rc.URL+`"
  ordering = "device"
  max_in_flight = 16
  retry {
    backoff = ["200ms", "400ms"]
  }`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	const devices, rounds = 8, 60
	for round := range rounds / 2 {
		postEvents(t, p.addr, deviceEvents(devices, round))
	}
	waitFor(t, time.Minute, "some deliveries, dev0 held", func() bool {
		rc.mu.Lock()
		held := rc.attempts["o-dev0-5"] > 0 && rc.attempts["o-dev0-5"] < 3
		rc.mu.Unlock()
		return held && rc.count() >= devices*rounds/6
	})
	p.kill()
	before := rc.count()
	p.start()
	for round := rounds / 2; round < rounds; round++ {
		postEvents(t, p.addr, deviceEvents(devices, round))
	}
	waitFor(t, 2*time.Minute, "every event delivered", func() bool { return rc.count() == devices*rounds })
	for dev, seqs := range rc.firstDeliveries() {
		for i, s := range seqs {
			if s != i {
				t.Fatalf("%s first deliveries %v, want 0..%d in order", dev, seqs, rounds-1)
			}
		}
	}
	parts := map[string]map[int32]bool{} // the connector topic is keyed by device
	for _, r := range e.readAll(e.topics().Connector("ordered"), devices*rounds) {
		if parts[string(r.Key)] == nil {
			parts[string(r.Key)] = map[int32]bool{}
		}
		parts[string(r.Key)][r.Partition] = true
	}
	for dev, ps := range parts {
		if len(ps) != 1 {
			t.Errorf("%s's events are in partitions %v of the connector topic, want one", dev, ps)
		}
	}
	rc.mu.Lock()
	resent := -devices * rounds
	for _, seqs := range rc.answered {
		resent += len(seqs)
	}
	rc.mu.Unlock()
	t.Logf("%d of %d delivered before the SIGKILL; %d re-sent after it", before, devices*rounds, resent)
}
