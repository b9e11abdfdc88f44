package integration

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// stamps records when a receiver acknowledged each request.
type stamps struct {
	mu sync.Mutex
	at []time.Time
}

func (s *stamps) respond(string, int) int {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return http.StatusOK
}

// longestGap returns the longest time without an acknowledgement between
// from and to.
func (s *stamps) longestGap(from, to time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gap time.Duration
	last := from
	for _, at := range s.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(last))
		last = at
	}
	return max(gap, to.Sub(last))
}

// Adding a connector (a process with the new configuration joins the
// deliver group beside the old one) and removing one (the old process
// leaves) move partitions by a cooperative rebalance: the other
// connectors' deliveries pause no longer than the rebalance. The test
// logs the longest pause at the untouched connectors, and checks that
// nothing acknowledged is lost.
func TestConnectorsAddRemoveRebalancePause(t *testing.T) {
	began := time.Now()
	e := newEnv(t)
	names := []string{"keep-a", "keep-b"}
	var rcs []*receiver
	var ss []*stamps
	for _, name := range names {
		s := &stamps{}
		rc := newReceiver(t, s.respond)
		ss, rcs = append(ss, s), append(rcs, rc)
		e.connector(name, `url = "`+rc.URL+`"
  max_in_flight = 16`)
	}
	var mu sync.Mutex
	procs := []*proc{e.spawn("old", suiteBroker.addrs)} // dynamic members: one that stops leaves the group at once
	targets := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, p := range procs {
			out = append(out, p.addr)
		}
		return out
	}
	l := newLoader("gap", 5, targets)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	n := size(6000, 20000) // about 25 s of load at 250 events/s: longer than both windows
	wait := goLoad(ctx, l, n, 20*time.Millisecond)
	waitFor(t, time.Minute, "deliveries flowing", func() bool { return rcs[0].delivered() >= 100 })
	window := func(what string, change func()) {
		from := time.Now()
		change()
		// Cooperative rebalancing moves partitions in a second round after
		// the join, so the window runs 5 s past the change and until both
		// connectors delivered 200 more.
		changed := time.Now()
		a, b := rcs[0].delivered(), rcs[1].delivered()
		waitFor(t, time.Minute, what+": deliveries after the change", func() bool {
			return time.Since(changed) > 5*time.Second &&
				rcs[0].delivered() >= min(a+200, n) && rcs[1].delivered() >= min(b+200, n)
		})
		to := time.Now()
		for i, s := range ss {
			t.Logf("RESULT %s: longest pause at %s %s (window %s)", what, names[i],
				s.longestGap(from, to).Round(time.Millisecond), to.Sub(from).Round(time.Millisecond))
		}
	}
	added := newReceiver(t, nil)
	window("add a connector", func() {
		e.connector("added", `url = "`+added.URL+`"`)
		p := e.spawn("new", suiteBroker.addrs)
		mu.Lock()
		procs = append(procs, p)
		mu.Unlock()
	})
	window("remove the old process", func() {
		mu.Lock()
		old := procs[0]
		procs = procs[1:]
		mu.Unlock()
		if err := old.term(30 * time.Second); err != nil {
			t.Errorf("old process after SIGTERM: %v", err)
		}
	})
	if err := wait(); err != nil {
		t.Fatalf("load: %v", err)
	}
	for i, rc := range rcs {
		expectAllDelivered(t, fmt.Sprintf("add and remove a connector, %s", names[i]), suiteBroker.kind, rc, l.sentIDs(), 3*time.Minute, began)
	}
}
