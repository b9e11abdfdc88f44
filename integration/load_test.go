package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// loader ingests batches of distinct events the way a careful client
// does: it retries a batch (on a connection error or any 5xx, against the
// next target) until ingest answers 202, and counts as sent only the ids a
// 202 acknowledged. It never calls t.Fatal; run returns its error.
type loader struct {
	tag     string
	batch   int
	targets func() []string // ingest addresses (host:port), tried in turn
	client  *http.Client
	// gate, when set, is called before each batch and may block: a test
	// holds the load there until its fault is in place.
	gate func()

	mu       sync.Mutex
	sent     []string
	answers  map[int]int // status code → count
	connErrs int
}

func newLoader(tag string, batch int, targets func() []string) *loader {
	return &loader{tag: tag, batch: batch, targets: targets, answers: map[int]int{},
		// Longer than ingest's 10 s produce timeout, so a 503 is seen.
		client: &http.Client{Timeout: 30 * time.Second}}
}

// run sends n events in batches, pausing pause between batches, until all
// are acknowledged or ctx ends.
func (l *loader) run(ctx context.Context, n int, pause time.Duration) error {
	defer l.client.CloseIdleConnections()
	try := 0
	for b := 0; b*l.batch < n; b++ {
		if l.gate != nil {
			l.gate()
		}
		body := events(fmt.Sprintf("%s_%d", l.tag, b), min(l.batch, n-b*l.batch))
		for {
			if ctx.Err() != nil {
				return fmt.Errorf("load stopped with %d of %d events acknowledged: %w", l.sentCount(), n, ctx.Err())
			}
			ts := l.targets()
			ids, retry, err := l.post(ctx, ts[try%len(ts)], body)
			if err != nil && !retry {
				return err
			}
			if err == nil {
				l.mu.Lock()
				l.sent = append(l.sent, ids...)
				l.mu.Unlock()
				break
			}
			try++
			select { // a client's retry backoff, not synchronisation
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}

// post sends one batch; retry says whether a failure is worth retrying.
func (l *loader) post(ctx context.Context, addr string, body []byte) (ids []string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := l.client.Do(req)
	if err != nil {
		l.mu.Lock()
		l.connErrs++
		l.mu.Unlock()
		return nil, true, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	l.mu.Lock()
	l.answers[resp.StatusCode]++
	l.mu.Unlock()
	switch {
	case resp.StatusCode == http.StatusAccepted:
		var ans struct {
			EventIDs []string `json:"eventIds"`
		}
		if err := json.Unmarshal(raw, &ans); err != nil || len(ans.EventIDs) == 0 {
			return nil, false, fmt.Errorf("202 with an unreadable answer %q", raw)
		}
		return ans.EventIDs, false, nil
	case resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("ingest answered %d %s", resp.StatusCode, raw)
	default:
		return nil, false, fmt.Errorf("ingest answered %d %s", resp.StatusCode, raw)
	}
}

func (l *loader) sentCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}

func (l *loader) sentIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sent...)
}

func (l *loader) answered(code int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers[code]
}

func (l *loader) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("answers %v, connection errors %d", l.answers, l.connErrs)
}

// goLoad runs l in a goroutine; the returned function waits for it and
// returns its error.
func goLoad(ctx context.Context, l *loader, n int, pause time.Duration) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- l.run(ctx, n, pause) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { err = <-done })
		return err
	}
}

// tally compares the acknowledged ids with the receiver's 2xx answers.
func tally(rc *receiver, sent []string) (lost []string, dups int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, id := range sent {
		switch k := rc.ok[id]; {
		case k == 0:
			lost = append(lost, id)
		case k > 1:
			dups += k - 1
		}
	}
	return lost, dups
}

// expectAllDelivered waits until every sent id was acknowledged by the
// receiver, then logs the summary line of a fault test; lost events fail
// the test, duplicates are only logged (at-least-once allows them).
func expectAllDelivered(t *testing.T, fault, broker string, rc *receiver, sent []string, timeout time.Duration, began time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	lost, dups := tally(rc, sent)
	for next := time.Now().Add(10 * time.Second); len(lost) > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		lost, dups = tally(rc, sent)
		if time.Now().After(next) {
			t.Logf("after %s: %d of %d delivered", time.Since(began).Round(time.Second), len(sent)-len(lost), len(sent))
			next = next.Add(10 * time.Second)
		}
	}
	t.Logf("RESULT fault=%q broker=%q sent=%d delivered=%d lost=%d duplicates=%d time=%s",
		fault, broker, len(sent), len(sent)-len(lost), len(lost), dups, time.Since(began).Round(100*time.Millisecond))
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged events never delivered within %s, e.g. %v", len(lost), len(sent), timeout, lost[:min(10, len(lost))])
	}
	if len(sent) == 0 {
		t.Error("no event was acknowledged: the test proved nothing")
	}
}

// soak reports whether HOOKPIPE_SOAK=1 asks for the large sizes.
func soak() bool { return os.Getenv("HOOKPIPE_SOAK") == "1" }

// size picks the CI or the soak value.
func size(ci, soakN int) int {
	if soak() {
		return soakN
	}
	return ci
}
