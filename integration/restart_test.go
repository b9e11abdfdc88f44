package integration

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// Stopping the pipeline mid-stream and starting it again (on kfake, the
// broker too, from its data directory) loses no acknowledged event.
func TestRestartMidStreamLosesNothing(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(_ string, _ int) int {
		time.Sleep(5 * time.Millisecond) // a slow endpoint keeps work in flight
		return http.StatusOK
	})
	e.connector("slow", `url = "`+rc.URL+`"
  max_in_flight = 8`)
	r := e.start()
	const n = 600
	if code, ans := r.post(t, "application/x-ndjson", events("m", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "some deliveries", func() bool { return rc.delivered() >= 50 })
	if err := r.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	before := rc.delivered()
	if before == n {
		t.Fatalf("all %d delivered before the restart; the test did not stop mid-stream", n)
	}
	restartEmbedded(t)
	e.start()
	waitFor(t, 2*time.Minute, "all events after restart", func() bool { return rc.delivered() == n })
	t.Logf("%d of %d delivered before the restart, all %d after it", before, n, n)
}

// restartEmbedded closes and reopens the embedded broker from its data
// directory on the same address; on a real broker it does nothing (the
// broker outlives the pipeline, as in production).
func restartEmbedded(t *testing.T) {
	t.Helper()
	if suiteBroker.embedded == nil {
		return
	}
	suiteBroker.embedded.Close()
	c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: suiteBroker.addrs[0], DataDir: suiteBroker.dataDir})
	if err != nil {
		t.Fatalf("restart embedded broker: %v", err)
	}
	suiteBroker.embedded = c
	t.Log("embedded broker restarted from its data directory")
}

// A clean stop settles in-flight requests and commits them: after a
// restart nothing is delivered twice and nothing is missing.
func TestCleanShutdownCommitsInFlight(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(_ string, _ int) int {
		time.Sleep(50 * time.Millisecond)
		return http.StatusOK
	})
	e.connector("c", `url = "`+rc.URL+`"
  max_in_flight = 20`)
	r := e.start()
	const n = 200
	if code, ans := r.post(t, "application/x-ndjson", events("s", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "deliveries in flight", func() bool { return rc.delivered() >= 20 })
	if err := r.stop(); err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	e.start()
	waitFor(t, 2*time.Minute, "all events after restart", func() bool { return rc.delivered() == n })
	ok, _ := rc.snapshot()
	for id, k := range ok {
		if k != 1 {
			t.Errorf("%s delivered %d times across a clean stop", id, k)
		}
	}
}
