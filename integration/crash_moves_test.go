package integration

import (
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// doomed reports whether the crash-moves endpoint fails event id forever
// (one event in ten); those go to the DLQ at max_age.
func doomed(id string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()%10 == 0
}

// Invariant: moves between Kafka topics are exactly-once across SIGKILL.
// The endpoint fails each event's first two requests (one event in ten
// always), so records move through both retry tiers and, at max_age, to
// the DLQ, while the only pipeline process is killed again and again. At
// the end every acknowledged event was delivered or is in the DLQ (lost =
// 0; one that was not delivered because it reached max_age while the
// process restarted is in the DLQ), and, read read_committed, no move is in the tier topics or the DLQ
// twice: the record of an event's n-th failed attempt is there once.
func TestFaultProcessCrashMoves(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n, kills := size(2000, 20000), size(4, 6)
	rc := newReceiver(t, func(id string, attempt int) int {
		if doomed(id) || attempt <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e.connector("moves", `url = "`+rc.URL+`"
  max_in_flight = 64
  circuit_breaker {
    disabled = true
  }
  retry {
    backoff = ["200ms", "1s"]
    max_age = "20s"
  }`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	l := newLoader("moves", size(50, 200), func() []string { return []string{p.addr} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wait := goLoad(ctx, l, n, 100*time.Millisecond)
	tp := e.topics()
	for k := 1; k <= kills; k++ {
		target := k * n / (kills + 1)
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d events acknowledged before kill %d", target, k),
			func() bool { return l.sentCount() >= target })
		tier0 := e.endOffsets(tp.Retry("moves", 0))
		p.kill()
		p.launch()
		p.waitReady(time.Minute)
		t.Logf("kill %d: SIGKILL with %d acknowledged, %d delivered, tier 0 end %d", k, l.sentCount(), rc.delivered(), tier0)
	}
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	sent := l.sentIDs()
	dlq := tp.DLQ("moves")
	var moves map[string]map[string]int
	var lost []string
	for deadline := time.Now().Add(crashWait(kills) + time.Minute); ; {
		moves = e.readCommitted(tp.Retry("moves", 0), tp.Retry("moves", 1), dlq)
		if lost = settledNowhere(rc, sent, moves[dlq]); len(lost) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	_, dups := tally(rc, sent)
	expired := 0
	for _, id := range sent {
		if !doomed(id) && moves[dlq][id] > 0 {
			expired++
		}
	}
	t.Logf("RESULT fault=%q broker=%q sent=%d delivered=%d dlq=%d (of them %d expired, not always failing) lost=%d http-duplicates=%d time=%s",
		"process SIGKILL x"+strconv.Itoa(kills)+" with moves", suiteBroker.kind, len(sent), rc.delivered(), len(moves[dlq]), expired,
		len(lost), dups, time.Since(began).Round(100*time.Millisecond))
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged events neither delivered nor in the DLQ, e.g. %v", len(lost), len(sent), lost[:min(10, len(lost))])
	}
	checkMovesOnce(t, moves, sent, dlq)
}

// settledNowhere returns the ids of sent that were neither delivered nor
// are in the DLQ (dlq counts the DLQ's records by eventId).
func settledNowhere(rc *receiver, sent []string, dlq map[string]int) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, id := range sent {
		if rc.ok[id] == 0 && dlq[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// checkMovesOnce fails t for a move written twice: a DLQ record of an
// event twice, or a tier record of the same event and attempt twice; and
// for an always failing event of sent missing from the DLQ.
func checkMovesOnce(t *testing.T, moves map[string]map[string]int, sent []string, dlq string) {
	t.Helper()
	total, twice := 0, 0
	for topic, keys := range moves {
		for key, k := range keys {
			total += k
			if k > 1 {
				twice++
				if twice <= 10 {
					t.Errorf("%s holds %s %d times", topic, key, k)
				}
			}
		}
	}
	missing, dead := 0, 0
	for _, id := range sent {
		if doomed(id) {
			dead++
			if moves[dlq][id] == 0 {
				missing++
			}
		}
	}
	t.Logf("RESULT moves: %d records in the tiers and the DLQ, %d written twice; %d of %d always failing events missing from the DLQ",
		total, twice, missing, dead)
	if missing > 0 {
		t.Errorf("%d always failing events are not in the DLQ", missing)
	}
	if total == 0 {
		t.Error("nothing moved: the test proved nothing")
	}
}

// readCommitted reads topics to their current ends, read_committed, and
// counts per topic its records by key: the eventId in the DLQ, eventId
// and attempt count ("id#n") in a tier.
func (e *env) readCommitted(topics ...string) map[string]map[string]int {
	e.t.Helper()
	cl, err := e.kafka().NewClient(kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		e.t.Fatalf("end offsets: %v", err)
	}
	left := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if left[o.Topic] == nil {
				left[o.Topic] = map[int32]int64{}
			}
			left[o.Topic][o.Partition] = o.Offset
		}
	})
	out := map[string]map[string]int{}
	for _, t := range topics {
		out[t] = map[string]int{}
	}
	for len(left) > 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if !r.Attrs.IsControl() {
				out[r.Topic][moveKey(r, r.Topic == topics[len(topics)-1])]++
			}
			if end, ok := left[r.Topic][r.Partition]; ok && r.Offset+1 >= end {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
		})
	}
	if len(left) > 0 {
		e.t.Fatalf("could not read %v to their ends", left)
	}
	return out
}

// moveKey is r's eventId, with its attempt count unless dlq.
func moveKey(r *kgo.Record, dlq bool) string {
	m := pipeline.ReadMeta(r)
	if dlq {
		return m.EventID
	}
	return m.EventID + "#" + strconv.Itoa(m.Attempts)
}
