package integration

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// One deliver group serves every connector. A connector whose endpoint
// holds every request (its in-flight slots all taken, its partitions
// paused) does not hold up the others: they deliver everything while it
// delivers nothing, and it catches up once its endpoint answers.
func TestConnectorsStuckOneDoesNotStallOthers(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	stuck := newReceiver(t, func(string, int) int {
		<-release
		return http.StatusOK
	})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	e.connector("stuck", `url = "`+stuck.URL+`"
  max_in_flight = 4
  timeout = "5m"`)
	var healthy []*receiver
	for i := range 4 {
		rc := newReceiver(t, nil)
		healthy = append(healthy, rc)
		e.connector(fmt.Sprintf("ok%d", i), `url = "`+rc.URL+`"
  max_in_flight = 16`)
	}
	r := e.start()
	const n = 400
	if code, ans := r.post(t, "application/x-ndjson", events("st", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	for i, rc := range healthy {
		waitFor(t, time.Minute, fmt.Sprintf("connector ok%d: all %d delivered beside a stuck one", i, n),
			func() bool { return rc.delivered() == n })
	}
	if got := stuck.delivered(); got != 0 {
		t.Fatalf("the stuck endpoint acknowledged %d events before it was released", got)
	}
	close(release)
	waitFor(t, time.Minute, "the stuck connector catches up", func() bool { return stuck.delivered() == n })
}

// Invariant: SIGKILL of the process mid-stream, several times, with
// several connectors on the one deliver group, loses no acknowledged event
// at any connector's endpoint.
func TestConnectorsProcessCrashLosesNothing(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n, kills := size(2000, 10000), size(3, 6)
	var rcs []*receiver
	for i := range 4 {
		rc := newReceiver(t, slowOK(2*time.Millisecond))
		rcs = append(rcs, rc)
		e.connector(fmt.Sprintf("crash%d", i), `url = "`+rc.URL+`"
  max_in_flight = 16`)
	}
	p := e.spawn("hookpipe", suiteBroker.addrs, "--instance-id", "connectors-crash-0")
	l := newLoader("mc", 50, func() []string { return []string{p.addr} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wait := goLoad(ctx, l, n, 100*time.Millisecond)
	for k := 1; k <= kills; k++ {
		target, before := k*n/(kills+1), rcs[k%len(rcs)].delivered()
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d events acknowledged before kill %d", target, k),
			func() bool { return l.sentCount() >= target })
		pollUntil(5*time.Second, func() bool { return rcs[k%len(rcs)].delivered() > before })
		p.kill()
		t.Logf("kill %d: SIGKILL with %d acknowledged", k, l.sentCount())
		p.start()
	}
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	for i, rc := range rcs {
		expectAllDelivered(t, fmt.Sprintf("process SIGKILL x%d, connector %d of %d", kills, i, len(rcs)),
			suiteBroker.kind, rc, l.sentIDs(), crashWait(kills), began)
	}
}
