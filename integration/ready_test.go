package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Invariant: ingest does not wait for consumer groups. While the fanout
// group cannot finish a rebalance (another member holds it up, as a dead
// member does until its timeout), POST /v1/events answers 202,
// /readyz?stage=ingest answers 200, and /readyz answers 503 naming the
// waiting stage, with each stage's state under ?verbose.
func TestIngestReadyBeforeGroups(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("early", `url = "`+rc.URL+`"`)
	blocker := holdGroup(t, e.topics().FanoutGroup(), e.topics().Events())
	launched := time.Now()
	p := e.launch("hookpipe", suiteBroker.addrs)
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, map[string]any) {
		resp, err := client.Get("http://" + p.addr + path)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	waitFor(t, 30*time.Second, "/readyz?stage=ingest 200", func() bool { code, _ := get("/readyz?stage=ingest"); return code == http.StatusOK })
	resp, err := client.Post("http://"+p.addr+"/v1/events", "application/x-ndjson", strings.NewReader(string(events("early", 10))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest while the fanout group is held up: %d, want 202", resp.StatusCode)
	}
	t.Logf("202 from ingest %s after the process started (creating the topics included), while its fanout group was held up", time.Since(launched).Round(time.Millisecond))
	code, body := get("/readyz?verbose")
	stages, _ := body["stages"].(map[string]any)
	if code != http.StatusServiceUnavailable || !strings.Contains(body["reason"].(string), "fanout") ||
		stages["fanout"] != "starting" || stages["ingest"] != "running" {
		t.Errorf("/readyz?verbose while fanout waits = %d %v, want 503 naming fanout, fanout starting and ingest running", code, body)
	}
	blocker.AllowRebalance()
	blocker.Close()
	waitFor(t, 2*time.Minute, "the 10 events delivered once the group is free", func() bool { return rc.delivered() == 10 })
}

// holdGroup joins group on topic as a member that never completes a
// rebalance once it has its first assignment (it blocks rebalances and never
// polls again), for up to a minute; AllowRebalance and Close let go.
func holdGroup(t *testing.T, group, topic string) *kgo.Client {
	t.Helper()
	adm, err := kgo.NewClient(kgo.SeedBrokers(suiteBroker.addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(adm).CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	assigned := make(chan struct{}, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(suiteBroker.addrs...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.BlockRebalanceOnPoll(), kgo.RebalanceTimeout(time.Minute),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			select {
			case assigned <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.AllowRebalance(); cl.Close() })
	go cl.PollFetches(ctx) // the one poll; the join does not wait for it
	select {
	case <-assigned:
	case <-ctx.Done():
		t.Fatalf("holding group %s: never assigned", group)
	}
	return cl
}
