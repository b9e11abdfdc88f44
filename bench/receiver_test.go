package bench

import (
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// The eventId carries the sequence number and send time through the
// pipeline unchanged, and the receiver finds it in the rendered body.
func TestEventIDRoundTrip(t *testing.T) {
	r := pipeline.NewRenderer([]string{"name", "room"})
	for _, tt := range []struct {
		seq  int
		sent int64
	}{{0, 0}, {41, 123456789}, {999_999, 1<<62 - 1}} {
		body := webhookBody(r, tt.seq, tt.sent)
		seq, sent, ok := parseEventID(body)
		if !ok || seq != tt.seq || sent != tt.sent {
			t.Errorf("parseEventID(body of %d, %d) = %d, %d, %v", tt.seq, tt.sent, seq, sent, ok)
		}
		if id := eventID(nil, tt.seq, tt.sent); len(id) > 64 {
			t.Errorf("eventID %q is longer than ingest's 64 characters", id)
		}
	}
	for _, bad := range []string{``, `{"event":{"eventId":"x1-2"}}`, `{"event":{"eventId":"b12"}}`, `{"event":{"eventId":"bx-2"}}`} {
		if _, _, ok := parseEventID([]byte(bad)); ok {
			t.Errorf("parseEventID(%q) ok, want not a bench id", bad)
		}
	}
}

// A second arrival of an event is a duplicate: counted, not measured
// again; every event arrived closes done; a body that is not a bench
// event is counted as bad.
func TestRecorderCountsFirstArrivals(t *testing.T) {
	rec := newRecorder(time.Now(), 2)
	r := pipeline.NewRenderer(nil)
	rec.record(webhookBody(r, 0, 10), 30)
	rec.record(webhookBody(r, 0, 10), 50)
	rec.record([]byte(`{}`), 50)
	rec.record(webhookBody(r, 7, 10), 50) // out of range
	select {
	case <-rec.done:
		t.Fatal("done after one of two events")
	default:
	}
	rec.record(webhookBody(r, 1, 20), 25)
	<-rec.done
	if got, dups, bad := rec.got.Load(), rec.dups.Load(), rec.bad.Load(); got != 2 || dups != 1 || bad != 2 {
		t.Errorf("got, dups, bad = %d, %d, %d; want 2, 1, 2", got, dups, bad)
	}
	lat := Summarise(rec.latencies())
	if lat.Count != 2 || lat.Max != 20 || lat.P50 != 5 {
		t.Errorf("latencies = %+v, want 5 ns and 20 ns", lat)
	}
	if rec.last.Load() != 30 {
		t.Errorf("last arrival = %d, want 30", rec.last.Load())
	}
}
