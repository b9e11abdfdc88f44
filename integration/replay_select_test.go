package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// POST /v1/connectors/{name}:replay with a selection: a dry run counts the
// selected dead letters per type and sends nothing; the real run sends
// only those; a replay without a body then sends every dead letter.
func TestReplaySelectionOverAPI(t *testing.T) {
	e := newEnv(t)
	var up atomic.Bool
	rc := newReceiver(t, func(string, int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	})
	// The breaker is off: with max_age 1s, replayed events would expire
	// again while an open breaker waits for its first probe (5s).
	e.connector("back", `url = "`+rc.URL+`"
  circuit_breaker { disabled = true }
  retry {
    backoff = ["200ms"]
    max_age = "1s"
  }`)
	r := e.start()
	if code, ans := r.post(t, "application/x-ndjson", fixture(t)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	e.readAll(e.topics().DLQ("back"), 19)
	up.Store(true)

	code, ans := postAction(t, r, "back:replay", `{"eventTypes":["touch","temperature"],"since":"1h","dryRun":true}`)
	if code != http.StatusOK || ans["replayed"] != float64(2) || ans["skipped"] != float64(17) || ans["dryRun"] != true {
		t.Fatalf("dry run: %d %v; want 200, 2 replayed, 17 skipped", code, ans)
	}
	if byType, _ := ans["byType"].(map[string]any); byType["touch"] != float64(1) || byType["temperature"] != float64(1) {
		t.Errorf("byType %v", ans["byType"])
	}
	code, ans = postAction(t, r, "back:replay", `{"eventTypes":["touch","temperature"]}`)
	if code != http.StatusOK || ans["replayed"] != float64(2) {
		t.Fatalf("replay: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "the 2 selected events delivered", func() bool { return rc.delivered() == 2 })
	ok, _ := rc.snapshot()
	if ok["c0example00000000001"] != 1 {
		t.Errorf("delivered %v, want the temperature event c0example00000000001 among them", ok)
	}
	code, ans = postAction(t, r, "back:replay", ``)
	if code != http.StatusOK || ans["replayed"] != float64(19) {
		t.Fatalf("replay all: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "all 19 delivered", func() bool { ok, _ := rc.snapshot(); return len(ok) == 19 })

	for _, c := range []struct {
		action, body string
		code         int
	}{
		{"nope:replay", ``, http.StatusNotFound},
		{"back:rewind", ``, http.StatusNotFound},
		{"back:replay", `{"eventTypes":["tuch"]}`, http.StatusBadRequest},
		{"back:replay", `{"since":"yesterday"}`, http.StatusBadRequest},
		{"back:replay", `{"colour":"red"}`, http.StatusBadRequest},
	} {
		if code, ans := postAction(t, r, c.action, c.body); code != c.code || ans["error"] == nil {
			t.Errorf("%s %s: %d %v, want %d with an error", c.action, c.body, code, ans, c.code)
		}
	}
}

// postAction POSTs body to /v1/connectors/<action> and decodes the answer.
func postAction(t *testing.T, r *running, action, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(r.url("/v1/connectors/"+action), "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %d, not JSON: %q", action, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}
