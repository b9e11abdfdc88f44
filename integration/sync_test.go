package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/stages/latest"
)

// POST /v1/connectors/{name}:sync answers 202 {"queued":N} and sends the
// connector, again, the latest event of each type it wants for every
// device, with the original eventId; an older event ingested after a newer
// one is not the latest.
func TestSyncOverAPI(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("sync", `url = "`+rc.URL+`"
  events = ["temperature", "humidity"]`)
	r := e.start()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04:05.000000Z") }
	var b strings.Builder
	for _, ev := range []struct{ id, device, typ, at string }{
		{"new-t1", "d1", "temperature", ts(-time.Minute)},
		{"old-t1", "d1", "temperature", ts(-time.Hour)}, // ingested later, but older
		{"h1", "d1", "humidity", ts(-2 * time.Hour)},
		{"x1", "d1", "touch", ts(0)}, // not wanted by the connector
		{"t2", "d2", "temperature", ts(-time.Minute)},
	} {
		fmt.Fprintf(&b, `{"event":{"eventId":%q,"targetName":"projects/p/devices/%s","eventType":%q,"data":{%q:{"updateTime":%q}},"timestamp":%q}}`+"\n",
			ev.id, ev.device, ev.typ, ev.typ, ev.at, ev.at)
	}
	if code, ans := r.post(t, "application/x-ndjson", []byte(b.String())); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "4 deliveries", func() bool { return rc.delivered() == 4 })
	waitFor(t, time.Minute, "<p>.latest filled", func() bool {
		known, err := latest.Known(context.Background(), e.kafka(), e.topics().Latest())
		return err == nil && len(known) == 4
	})
	code, ans := postAction(t, r, "sync:sync", "")
	if code != http.StatusAccepted || ans["queued"] != float64(3) {
		t.Fatalf("sync: %d %v; want 202 with 3 queued (d1 temperature and humidity, d2 temperature)", code, ans)
	}
	waitFor(t, time.Minute, "3 synced deliveries", func() bool { _, reqs := rc.snapshot(); return len(reqs) == 7 })
	ok, _ := rc.snapshot()
	for id, want := range map[string]int{"new-t1": 2, "old-t1": 1, "h1": 2, "t2": 2, "x1": 0} {
		if ok[id] != want {
			t.Errorf("%s delivered %d times, want %d (all: %v)", id, ok[id], want, ok)
		}
	}
	if code, ans := postAction(t, r, "nope:sync", ""); code != http.StatusNotFound {
		t.Errorf("unknown connector: %d %v", code, ans)
	}
}
