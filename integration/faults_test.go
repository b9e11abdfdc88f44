package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"
)

// The fault suite: each test ingests through a client that retries until
// 202, injects one kind of fault, and then counts by eventId at the
// endpoint the acknowledged events that never arrived (must be 0) and the
// duplicates (logged: at-least-once allows them). Sizes are for `make
// test`; HOOKPIPE_SOAK=1 selects the soak sizes.

// slowOK answers 200 after d, so deliveries are in flight when a fault hits.
func slowOK(d time.Duration) func(string, int) int {
	return func(string, int) int {
		time.Sleep(d)
		return http.StatusOK
	}
}

// pollUntil polls cond for up to d and reports whether it came true.
func pollUntil(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// crashWait is how long the crash test waits for the last deliveries:
// HOOKPIPE_FAULT_WAIT (a duration), else a minute plus 50 s per kill. A
// restarted process joins its groups as a new member, so the killed
// member keeps its partitions until its group session times out, once per
// killed incarnation in the worst case; the bound allows for kgo's default
// 45 s session even though the pipeline sets a shorter one.
func crashWait(kills int) time.Duration {
	if d, err := time.ParseDuration(os.Getenv("HOOKPIPE_FAULT_WAIT")); err == nil {
		return d
	}
	return time.Minute + time.Duration(kills)*50*time.Second
}

// Invariant: SIGKILL of the only pipeline process, again and again
// mid-stream, loses no acknowledged event — offsets are committed only
// behind work Kafka or the endpoint acknowledged, so a crash may repeat
// deliveries but never skip one.
func TestFaultProcessCrash(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n, kills := size(3000, 20000), size(5, 8)
	if k, err := strconv.Atoi(os.Getenv("HOOKPIPE_FAULT_KILLS")); err == nil {
		kills = k // for a bisecting human
	}
	rc := newReceiver(t, slowOK(2*time.Millisecond))
	e.connector("crash", `url = "`+rc.URL+`"
  max_in_flight = 32`)
	// A static member id, as a StatefulSet would give: the restarted process
	// takes its partitions back at once instead of after the session timeout.
	p := e.spawn("hookpipe", suiteBroker.addrs, "--instance-id", "crash-0")
	l := newLoader("crash", 50, func() []string { return []string{p.addr} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wait := goLoad(ctx, l, n, 100*time.Millisecond)
	// Each kill waits for its share of the load, then up to progress for
	// the new incarnation to deliver something (so the kill lands mid-
	// delivery, not only mid-join); CI keeps that short, soak waits.
	progress := time.Duration(size(3, 60)) * time.Second
	midDelivery := 0
	for k := 1; k <= kills; k++ {
		target, before := k*n/(kills+1), rc.delivered()
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d events acknowledged before kill %d", target, k),
			func() bool { return l.sentCount() >= target })
		delivering := pollUntil(progress, func() bool { return rc.delivered() > before })
		if delivering {
			midDelivery++
		}
		fanLag, _, _ := committedLag(e.kafka(), e.topics().FanoutGroup(), e.topics().Events())
		delLag, _, _ := committedLag(e.kafka(), e.topics().DeliverGroup(), e.topics().Connector("crash"))
		p.kill()
		t.Logf("kill %d: SIGKILL with %d acknowledged, %d delivered (this incarnation delivering: %v); uncommitted: fanout %d, deliver %d",
			k, l.sentCount(), rc.delivered(), delivering, fanLag, delLag)
		p.start()
	}
	t.Logf("%d of %d kills landed while the killed process was delivering", midDelivery, kills)
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load: %s; process started %d times", l, p.starts)
	expectAllDelivered(t, "process SIGKILL x"+strconv.Itoa(kills), suiteBroker.kind, rc, l.sentIDs(), crashWait(kills), began)
}

// Invariant: while the broker is away ingest answers 503 (never 202 for
// events Kafka did not take), and a client that retries until 202 loses
// nothing once the broker is back.
func TestFaultBrokerRestart(t *testing.T) {
	stopBroker, startBroker, why := brokerStopStart()
	if stopBroker == nil {
		t.Skip("skipped: " + why)
	}
	began := time.Now()
	e := newEnv(t)
	n := size(1000, 10000)
	rc := newReceiver(t, nil)
	e.connector("brk", `url = "`+rc.URL+`"`)
	r := e.start()
	l := newLoader("brk", 20, func() []string { return []string{r.p.Addr()} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var down sync.Mutex // held while node 0 is stopped
	stopped := false
	t.Cleanup(func() { // the broker is back and serving, even on failure
		down.Lock()
		defer down.Unlock()
		if stopped {
			if err := startBroker(); err != nil {
				t.Errorf("restarting the broker after the test: %v", err)
			}
		}
	})
	// The load holds at half until the broker is down, so that the rest is
	// sent while it is away however long stopping it takes.
	brokerDown := make(chan struct{})
	var downOnce sync.Once
	release := func() { downOnce.Do(func() { close(brokerDown) }) }
	defer release()
	l.gate = func() {
		if l.sentCount() >= n/2 {
			select {
			case <-brokerDown:
			case <-ctx.Done():
			}
		}
	}
	wait := goLoad(ctx, l, n, 20*time.Millisecond)
	waitFor(t, time.Minute, "a quarter of the load acknowledged", func() bool { return l.sentCount() >= n/4 })
	down.Lock()
	stopped = true
	down.Unlock()
	if err := stopBroker(); err != nil {
		t.Fatal(err)
	}
	release()
	atStop := l.sentCount()
	t.Logf("broker stopped with %d acknowledged", atStop)
	waitFor(t, time.Minute, "a 503 from ingest while Kafka is away", func() bool { return l.answered(http.StatusServiceUnavailable) > 0 })
	t.Logf("503 seen; %d acknowledged while the broker was down", l.sentCount()-atStop)
	down.Lock()
	err := startBroker()
	stopped = err != nil
	down.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("broker back after %s", time.Since(began).Round(time.Second))
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load: %s", l)
	expectAllDelivered(t, "broker stop/start", suiteBroker.kind, rc, l.sentIDs(), 3*time.Minute, began)
}

// Invariant: consumer-group rebalances — two processes joining mid-run,
// then leaving with SIGTERM — neither lose an acknowledged event nor stop
// delivery; SIGTERM exits 0.
func TestFaultRebalance(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n := size(3000, 20000)
	rc := newReceiver(t, slowOK(5*time.Millisecond))
	e.connector("rebal", `url = "`+rc.URL+`"
  max_in_flight = 16`)
	var mu sync.Mutex
	procs := []*proc{e.spawn("hookpipe-1", suiteBroker.addrs)}
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, p := range procs {
			out = append(out, p.addr)
		}
		return out
	}
	l := newLoader("rebal", 25, targets)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wait := goLoad(ctx, l, n, 30*time.Millisecond)
	step := func(frac int, what string) {
		waitFor(t, 2*time.Minute, what, func() bool { return l.sentCount() >= frac*n/4 })
		t.Logf("%s: %d acknowledged, %d delivered", what, l.sentCount(), rc.delivered())
	}
	for i, name := range []string{"hookpipe-2", "hookpipe-3"} {
		step(i+1, "start "+name)
		p := e.spawn(name, suiteBroker.addrs)
		mu.Lock()
		procs = append(procs, p)
		mu.Unlock()
	}
	step(3, "SIGTERM hookpipe-2 and hookpipe-3")
	mu.Lock()
	leaving := procs[1:]
	procs = procs[:1]
	mu.Unlock()
	for _, p := range leaving {
		if err := p.term(30 * time.Second); err != nil {
			t.Errorf("%s after SIGTERM: %v (want exit status 0)", p.name, err)
		}
	}
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load: %s", l)
	expectAllDelivered(t, "rebalance 1→3→1 processes", suiteBroker.kind, rc, l.sentIDs(), 3*time.Minute, began)
}

// threeNodeCluster returns a three-node kafka-local.sh cluster: the one
// KAFKA_BROKERS names, else with HOOKPIPE_FAULT_CLUSTER=1 one the test
// starts (and stops) in its own state directory, and the state directory
// kafka-local.sh must be told. Without either it says why.
func threeNodeCluster(t *testing.T) (brokers []string, state, why string) {
	if ok, why3 := localCluster(3); ok {
		return suiteBroker.addrs, os.Getenv("HOOKPIPE_KAFKA_STATE"), ""
	} else if os.Getenv("HOOKPIPE_FAULT_CLUSTER") != "1" {
		return nil, "", "needs a three-node cluster (RF=3, min.insync.replicas=2): set HOOKPIPE_FAULT_CLUSTER=1 for the test to start one with kafka-local.sh, or point KAFKA_BROKERS at a running `kafka-local.sh up --brokers 3`; " + why3
	}
	// The cleanup reads dir, not the named result state: an early return sets
	// state to "", and `kafka-local.sh down` with no state directory would
	// stop the suite's own broker.
	dir := filepath.Join(t.TempDir(), "kafka3")
	// Its own ports, so that it runs beside the single broker CI starts:
	// HOOKPIPE_FAULT_CLUSTER_PORT, default 29092 (29092-29094, controllers
	// 29192-29194).
	port := os.Getenv("HOOKPIPE_FAULT_CLUSTER_PORT")
	if port == "" {
		port = "29092"
	}
	t.Setenv("HOOKPIPE_KAFKA_PORT", port)
	out, err := kafkaLocal(dir, "up", "--brokers", "3")
	t.Cleanup(func() {
		if _, err := kafkaLocal(dir, "down"); err != nil {
			t.Errorf("stopping the three-node cluster: %v", err)
		}
	})
	if err != nil {
		if strings.Contains(out, "already in use") {
			return nil, "", "HOOKPIPE_FAULT_CLUSTER=1 but the ports from " + port + " (HOOKPIPE_FAULT_CLUSTER_PORT) are taken: " + lastLine(out)
		}
		t.Fatalf("starting the three-node cluster: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if v, ok := strings.CutPrefix(line, "KAFKA_BROKERS="); ok {
			brokers = strings.Split(v, ",")
		}
	}
	if len(brokers) != 3 {
		t.Fatalf("kafka-local.sh up printed no three brokers:\n%s", out)
	}
	return brokers, dir, ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// Invariant: with replication factor 3 and min.insync.replicas=2, losing
// one broker (SIGKILL) mid-run loses no acknowledged event: acks=all means
// an acknowledged record is on the surviving replicas.
func TestFaultBrokerLoss(t *testing.T) {
	brokers, state, why := threeNodeCluster(t)
	if brokers == nil {
		t.Skip("skipped: " + why)
	}
	began := time.Now()
	e := newEnv(t)
	t.Logf("fault cluster: three kafka-local.sh nodes %s", strings.Join(brokers, ","))
	n := size(3000, 20000)
	rc := newReceiver(t, slowOK(2*time.Millisecond))
	e.connector("loss", `url = "`+rc.URL+`"
  max_in_flight = 32`)
	p := e.spawn("hookpipe", brokers, "--replication-factor", "3")
	checkReplication(t, brokers, e.topics().Connector("loss"))
	l := newLoader("loss", 25, func() []string { return []string{p.addr} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if _, err := kafkaLocal(state, "start-node", "1"); err != nil {
			t.Errorf("restarting node 1: %v", err)
		}
	})
	wait := goLoad(ctx, l, n, 20*time.Millisecond)
	waitFor(t, 2*time.Minute, "a third of the load acknowledged", func() bool { return l.sentCount() >= n/3 })
	if _, err := kafkaLocal(state, "stop-node", "1", "--kill"); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 killed with %d acknowledged, %d delivered", l.sentCount(), rc.delivered())
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load: %s", l)
	expectAllDelivered(t, "broker loss (1 of 3, RF=3)", "3-node kafka-local.sh "+strings.Join(brokers, ","), rc, l.sentIDs(), 3*time.Minute, began)
}

// checkReplication asserts topic has three replicas per partition and
// min.insync.replicas=2.
func checkReplication(t *testing.T, brokers []string, topic string) {
	t.Helper()
	kc, err := kafka.Config{Brokers: brokers, ClientID: "hookpipe-it"}.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	cl := kadm.NewClient(kc)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	td, err := cl.ListTopics(ctx, topic)
	if err != nil || td.Error() != nil {
		t.Fatalf("describe %s: %v %v", topic, err, td.Error())
	}
	for _, pd := range td[topic].Partitions {
		if len(pd.Replicas) != 3 {
			t.Fatalf("%s partition %d has %d replicas, want 3", topic, pd.Partition, len(pd.Replicas))
		}
	}
	rcs, err := cl.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == "min.insync.replicas" && c.MaybeValue() != "2" {
			t.Fatalf("%s has min.insync.replicas=%s, want 2", topic, c.MaybeValue())
		}
	}
}
