package integration

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/stages/replay"
)

// Dead letters replayed after the endpoint is back are all delivered; a
// second replay finds nothing new, because the first committed what it
// copied only after Kafka acknowledged the copies.
func TestReplayDeadLetters(t *testing.T) {
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
	const n = 20
	if code, ans := r.post(t, "application/x-ndjson", events("dl", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	e.readAll(e.topics().DLQ("back"), n)
	if rc.delivered() != 0 {
		t.Fatalf("%d delivered while the endpoint was down", rc.delivered())
	}
	up.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := replay.Config{Connector: "back", Topics: e.topics(), Kafka: e.kafka()}
	got, err := replay.Run(ctx, cfg)
	if err != nil || got != n {
		t.Fatalf("replay: %d, %v; want %d", got, err, n)
	}
	waitFor(t, time.Minute, "replayed events delivered", func() bool { return rc.delivered() == n })
	if again, err := replay.Run(ctx, cfg); err != nil || again != 0 {
		t.Fatalf("second replay: %d, %v; want 0", again, err)
	}
}
