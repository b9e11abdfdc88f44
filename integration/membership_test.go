package integration

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Invariant: a rolling restart — SIGTERM one of three processes (default
// flags), start it again, then the next, all three in turn — while events
// flow loses nothing and delivers nothing twice: a clean stop commits what
// it finished, and a static member takes its partitions back on restart.
func TestRollingRestart(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	n := size(3000, 20000)
	rc := newReceiver(t, slowOK(2*time.Millisecond))
	e.connector("roll", `url = "`+rc.URL+`"
  max_in_flight = 16`)
	var mu sync.Mutex
	var procs []*proc
	for _, name := range []string{"hookpipe-1", "hookpipe-2", "hookpipe-3"} {
		procs = append(procs, e.spawn(name, suiteBroker.addrs))
	}
	up := map[*proc]bool{procs[0]: true, procs[1]: true, procs[2]: true}
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, p := range procs {
			if up[p] {
				out = append(out, p.addr)
			}
		}
		return out
	}
	l := newLoader("roll", 25, targets)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wait := goLoad(ctx, l, n, 20*time.Millisecond)
	for i, p := range procs {
		target := (i + 1) * n / 4
		waitFor(t, 2*time.Minute, "load before restarting "+p.name, func() bool { return l.sentCount() >= target })
		mu.Lock()
		up[p] = false
		mu.Unlock()
		if err := p.term(30 * time.Second); err != nil {
			t.Errorf("%s after SIGTERM: %v (want exit status 0)", p.name, err)
		}
		stopped := time.Now()
		p.start()
		t.Logf("%s restarted (ready %s after its stop) with %d acknowledged, %d delivered",
			p.name, time.Since(stopped).Round(time.Millisecond), l.sentCount(), rc.delivered())
		mu.Lock()
		up[p] = true
		mu.Unlock()
	}
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("load: %s", l)
	expectAllDelivered(t, "rolling restart of 3 processes (SIGTERM)", suiteBroker.kind, rc, l.sentIDs(), 3*time.Minute, began)
	if _, dups := tally(rc, l.sentIDs()); dups != 0 {
		t.Errorf("%d duplicates across a rolling restart with clean stops, want 0", dups)
	}
}

// Invariant: two processes given the same --instance-id do not share or
// silently steal work: Kafka fences the older member when the newer one
// joins, and the fenced process exits with an error that says why.
func TestSameInstanceIDFails(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("twin", `url = "`+rc.URL+`"`)
	first := e.spawn("hookpipe-a", suiteBroker.addrs, "--instance-id", "twin-0")
	second := e.spawn("hookpipe-b", suiteBroker.addrs, "--instance-id", "twin-0")
	var fenced *proc
	for deadline := time.Now().Add(time.Minute); fenced == nil && time.Now().Before(deadline); {
		for _, p := range []*proc{first, second} {
			if exited, err := p.wait(100 * time.Millisecond); exited {
				if err == nil {
					t.Errorf("%s exited with status 0 after being fenced, want an error", p.name)
				}
				fenced = p
			}
		}
	}
	if fenced == nil {
		t.Fatal("both processes with instance id twin-0 still run after a minute; want one fenced out")
	}
	log, err := os.ReadFile(fenced.log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "same id") || !strings.Contains(string(log), "twin-0") {
		fenced.dumpLog(20)
		t.Errorf("%s's log does not say that another process took instance id twin-0", fenced.name)
	}
	t.Logf("%s exited: fenced by the other process with the same instance id", fenced.name)
}
