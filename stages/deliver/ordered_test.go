package deliver

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// orderedEndpoint is a receiver that logs, per device, the sequence
// numbers it answered 2xx, and counts requests of one device that
// overlapped. fail decides a request's answer.
type orderedEndpoint struct {
	mu        sync.Mutex
	running   map[string]int
	overlaps  int
	delivered map[string][]int
	at        map[string]time.Time // when each event id was delivered
	fail      func(device string, seq int) bool
	latency   func() time.Duration
}

type orderedBody struct {
	Device string `json:"device"`
	Seq    int    `json:"seq"`
}

func (e *orderedEndpoint) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var b orderedBody
	if err := json.NewDecoder(req.Body).Decode(&b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	if e.running[b.Device]++; e.running[b.Device] > 1 {
		e.overlaps++
	}
	e.mu.Unlock()
	time.Sleep(e.latency())
	e.mu.Lock()
	defer e.mu.Unlock()
	e.running[b.Device]--
	if e.fail(b.Device, b.Seq) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	e.delivered[b.Device] = append(e.delivered[b.Device], b.Seq)
	e.at[b.Device+"/"+strconv.Itoa(b.Seq)] = time.Now()
}

func (e *orderedEndpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.delivered {
		n += len(s)
	}
	return n
}

// orderedStage runs a deliver stage for one connector with ordering =
// "device" pointed at e, on a kfake broker whose connector topic has 3
// partitions. It returns the stage, the brokers and a function writing
// one event.
func orderedStage(t *testing.T, e *orderedEndpoint, retry pipeline.RetryPolicy) (*Stage, []string, func(device string, seq int, ingest time.Time)) {
	t.Helper()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	conn := &pipeline.Connector{Name: "c", URL: u, Timeout: 5 * time.Second, MaxInFlight: 20, Retry: retry, Ordering: pipeline.OrderingDevice}
	topics := pipeline.Topics{Prefix: "t"}
	kc, prod := connectorCluster(t, 3, topics, conn)
	st, err := NewDeliver(Config{Connectors: []*pipeline.Connector{conn}, Topics: topics, Kafka: kc, Producer: prod, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	write := func(device string, seq int, ingest time.Time) {
		body, _ := json.Marshal(orderedBody{device, seq})
		m := pipeline.Meta{IngestTime: ingest, EventID: device + "-" + strconv.Itoa(seq), EventType: "touch"}
		if err := prod.ProduceSync(context.Background(), m.Record(topics.Connector("c"), []byte(device), body, "")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return st, kc.Brokers, write
}

func newOrderedEndpoint(fail func(string, int) bool, latency func() time.Duration) *orderedEndpoint {
	return &orderedEndpoint{running: map[string]int{}, delivered: map[string][]int{}, at: map[string]time.Time{}, fail: fail, latency: latency}
}

// With random endpoint latency and random 503s, an ordered connector
// delivers each device's events in ingest order, one request per device at
// a time, every event exactly once (nothing restarts).
func TestDeliverOrderedPerDevice(t *testing.T) {
	e := newOrderedEndpoint(func(string, int) bool { return rand.IntN(8) == 0 },
		func() time.Duration { return time.Duration(rand.IntN(3000)) * time.Microsecond })
	_, _, write := orderedStage(t, e, pipeline.RetryPolicy{Backoff: []time.Duration{5 * time.Millisecond, 20 * time.Millisecond}, MaxAge: time.Hour})
	const devices, events = 40, 15
	for seq := range events {
		for d := range devices {
			write("dev-"+strconv.Itoa(d), seq, time.Now())
		}
	}
	waitFor(t, "every event delivered", func() bool { return e.count() >= devices*events })
	e.mu.Lock()
	defer e.mu.Unlock()
	for d, got := range e.delivered {
		for i, seq := range got {
			if seq != i {
				t.Fatalf("%s delivered %v, want 0..%d in order", d, got, events-1)
			}
		}
	}
	if e.overlaps > 0 {
		t.Errorf("%d requests overlapped another of the same device", e.overlaps)
	}
}

// An event that keeps failing holds back only its own device: the other
// devices' events are delivered meanwhile, it is retried in place until it
// expires, goes to the DLQ with its attempts, and then its device's later
// events are delivered in order.
func TestDeliverOrderedExpiredHeadReleasesDevice(t *testing.T) {
	e := newOrderedEndpoint(func(d string, seq int) bool { return d == "stuck" && seq == 0 },
		func() time.Duration { return 0 })
	_, brokers, write := orderedStage(t, e, pipeline.RetryPolicy{Backoff: []time.Duration{50 * time.Millisecond}, MaxAge: 5 * time.Second})
	expires := time.Now().Add(-time.Second).Truncate(time.Millisecond).Add(5 * time.Second)
	write("stuck", 0, expires.Add(-5*time.Second))
	for seq := range 5 {
		for d := range 10 {
			write("dev-"+strconv.Itoa(d), seq, time.Now())
		}
		if seq < 2 {
			write("stuck", seq+1, time.Now())
		}
	}
	dlq := kafkatest.ReadN(t, brokers, 1, pipeline.Topics{Prefix: "t"}.DLQ("c"))
	if m := pipeline.ReadMeta(dlq[0]); m.EventID != "stuck-0" || m.Attempts < 2 || m.LastError == "" {
		t.Errorf("dead letter %+v, want stuck-0 with its attempts and last error", m)
	}
	waitFor(t, "52 deliveries", func() bool { return e.count() >= 52 })
	e.mu.Lock()
	defer e.mu.Unlock()
	if got := e.delivered["stuck"]; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("device stuck delivered %v after its head expired, want [1 2]", got)
	}
	if at := e.at["stuck/1"]; at.Before(expires) {
		t.Errorf("stuck's second event delivered at %v, before its first expired at %v", at, expires)
	}
	for d := range 10 {
		if at := e.at["dev-"+strconv.Itoa(d)+"/4"]; !at.Before(expires) {
			t.Errorf("dev-%d's last event waited for another device's expiry", d)
		}
	}
	if e.overlaps > 0 {
		t.Errorf("%d requests overlapped another of the same device", e.overlaps)
	}
}
