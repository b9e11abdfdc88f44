package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/stages"
)

// The live connectors.d tests run a real `hookpipe run` and change its
// connectors directory under it: SIGHUP (or --watch) applies a good
// directory without a restart, and a directory with an error changes
// nothing.

// postTo sends n temperature events with ids <tag>-<i> to the process
// and fails unless they were accepted.
func postTo(t *testing.T, p *proc, tag string, n int) {
	t.Helper()
	resp, err := http.Post("http://"+p.addr+"/v1/events", "application/x-ndjson", bytes.NewReader(events(tag, n)))
	if err != nil {
		t.Fatalf("POST /v1/events: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %d", resp.StatusCode)
	}
}

// configOf returns the process's GET /v1/config.
func configOf(t *testing.T, p *proc) stages.ConfigView {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/v1/config")
	if err != nil {
		t.Fatalf("GET /v1/config: %v", err)
	}
	defer resp.Body.Close()
	var v stages.ConfigView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET /v1/config: %v", err)
	}
	return v
}

// statusOf returns the status of a request to the process.
func statusOf(t *testing.T, p *proc, method, path string) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+p.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// reloadTo sends SIGHUP and waits until GET /v1/config shows a hash other
// than old and no rejected reading; it returns the new view.
func reloadTo(t *testing.T, p *proc, old string) stages.ConfigView {
	t.Helper()
	p.signal(syscall.SIGHUP, 0)
	var v stages.ConfigView
	waitFor(t, time.Minute, "the reload in force", func() bool {
		v = configOf(t, p)
		return v.Hash != old && v.Rejected == nil
	})
	return v
}

// countTag returns how many distinct events with ids <tag>-* rc acknowledged.
func countTag(rc *receiver, tag string) int {
	ok, _ := rc.snapshot()
	n := 0
	for id := range ok {
		if strings.HasPrefix(id, tag+"-") {
			n++
		}
	}
	return n
}

// A connector file added and SIGHUP: the new connector gets its topics
// and delivers what is posted after the reload; the other one goes on.
func TestReloadAddsConnectorOnHangup(t *testing.T) {
	e := newEnv(t)
	a, b := newReceiver(t, nil), newReceiver(t, nil)
	e.connector("a", `url = "`+a.URL+`"`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	postTo(t, p, "before", 50)
	waitFor(t, time.Minute, "a delivers before the reload", func() bool { return a.delivered() == 50 })
	old := configOf(t, p)
	e.connector("b", `url = "`+b.URL+`"`)
	v := reloadTo(t, p, old.Hash)
	if len(v.Connectors) != 2 || !v.LoadedAt.After(old.LoadedAt) {
		t.Fatalf("config after reload: %d connectors, loaded %s (before %s)", len(v.Connectors), v.LoadedAt, old.LoadedAt)
	}
	postTo(t, p, "after", 50)
	waitFor(t, time.Minute, "b delivers what was posted after the reload", func() bool { return countTag(b, "after") == 50 })
	waitFor(t, time.Minute, "a delivers both", func() bool { return a.delivered() == 100 })
	if n := countTag(b, "before"); n != 0 {
		t.Errorf("b received %d events posted before it existed", n)
	}
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/connectors/b"}, {http.MethodPost, "/v1/connectors/b:disable"}, {http.MethodPost, "/v1/connectors/b:enable"},
	} {
		if code := statusOf(t, p, req.method, req.path); code != http.StatusOK {
			t.Errorf("%s %s after the reload: %d, want 200", req.method, req.path, code)
		}
	}
}

// A directory with an error changes nothing, even beside a good change:
// GET /v1/config keeps the hash in force and shows the rejected reading's
// diagnostics; delivery goes on to the old URL. Once fixed, the next
// SIGHUP applies it and clears the rejection.
func TestReloadRejectsBrokenDirectory(t *testing.T) {
	e := newEnv(t)
	old, moved := newReceiver(t, nil), newReceiver(t, nil)
	e.connector("a", `url = "`+old.URL+`"`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	before := configOf(t, p)
	e.connector("a", `url = "`+moved.URL+`"`)
	if err := os.WriteFile(filepath.Join(e.dir, "bad.hcl"), []byte("connector \"bad\" {\n  url = \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP, 0)
	var v stages.ConfigView
	waitFor(t, time.Minute, "the rejected reading in GET /v1/config", func() bool {
		v = configOf(t, p)
		return v.Rejected != nil
	})
	if v.Hash != before.Hash || !v.LoadedAt.Equal(before.LoadedAt) {
		t.Errorf("a rejected reading changed the config in force: hash %s → %s", before.Hash, v.Hash)
	}
	if d := strings.Join(v.Rejected.Diagnostics, "\n"); !strings.Contains(d, "bad.hcl") || v.Rejected.DirHash == "" {
		t.Errorf("rejected: %+v, want diagnostics naming bad.hcl and the directory's hash", v.Rejected)
	}
	postTo(t, p, "during", 40)
	waitFor(t, time.Minute, "delivery goes on to the URL in force", func() bool { return countTag(old, "during") == 40 })
	if n := moved.delivered(); n != 0 {
		t.Errorf("the rejected URL received %d events", n)
	}
	if err := os.Remove(filepath.Join(e.dir, "bad.hcl")); err != nil {
		t.Fatal(err)
	}
	reloadTo(t, p, before.Hash)
	postTo(t, p, "fixed", 40)
	waitFor(t, time.Minute, "the fixed directory's URL receives", func() bool { return countTag(moved, "fixed") == 40 })
}

// A connector's URL changes while events flow: every event reaches the
// old or the new URL exactly once (none is lost, none sent again), the
// new URL receives the later ones, and the other connector, untouched,
// receives every event exactly once.
func TestReloadChangesURLWhileEventsFlow(t *testing.T) {
	e := newEnv(t)
	old, moved, steady := newReceiver(t, slowOK(20*time.Millisecond)), newReceiver(t, nil), newReceiver(t, slowOK(3*time.Millisecond))
	e.connector("moving", `url = "`+old.URL+`"
  max_in_flight = 8`)
	e.connector("steady", `url = "`+steady.URL+`"
  max_in_flight = 8`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	before := configOf(t, p)
	const batches, per = 60, 20
	posted := make(chan struct{})
	reloaded := make(chan struct{})
	go func() {
		defer close(posted)
		for k := range batches {
			if k == batches/2 {
				<-reloaded // the second half is posted after the change
			}
			postTo(t, p, fmt.Sprintf("f%d", k), per)
		}
	}()
	// The old endpoint takes 20 ms a request, 8 at a time: when 100 are
	// delivered, hundreds wait and 8 are in flight as the change begins.
	waitFor(t, time.Minute, "the old URL receives", func() bool { return old.delivered() >= 100 })
	e.connector("moving", `url = "`+moved.URL+`"
  max_in_flight = 8`)
	reloadTo(t, p, before.Hash)
	close(reloaded)
	<-posted
	all := batches * per
	waitFor(t, 2*time.Minute, "every event at the old or the new URL", func() bool {
		o, _ := old.snapshot()
		m, _ := moved.snapshot()
		for id := range m {
			o[id]++
		}
		return len(o) == all
	})
	waitFor(t, time.Minute, "steady receives everything", func() bool { return steady.delivered() == all })
	if n := countTag(moved, fmt.Sprintf("f%d", batches-1)); n != per {
		t.Errorf("the new URL received %d of the last batch's %d events", n, per)
	}
	if _, dups := steady.answered(); dups != 0 {
		t.Errorf("the unchanged connector received %d duplicates", dups)
	}
	// The change settled the requests in flight and committed them before
	// the new URL took over: nothing was sent again.
	o, _ := old.snapshot()
	m, _ := moved.snapshot()
	for id, n := range o {
		if n+m[id] > 1 {
			t.Errorf("event %s sent again: %d times to the old URL, %d to the new", id, n, m[id])
		}
	}
	for id, n := range m {
		if n > 1 {
			t.Errorf("event %s sent %d times to the new URL", id, n)
		}
	}
}

// A connector file removed and SIGHUP: the connector stops (404 for its
// name, its actions included, nothing more delivered), its topics stay;
// the other goes on.
func TestReloadRemovesConnector(t *testing.T) {
	e := newEnv(t)
	a, b := newReceiver(t, nil), newReceiver(t, nil)
	e.connector("a", `url = "`+a.URL+`"`)
	e.connector("b", `url = "`+b.URL+`"`)
	p := e.spawn("hookpipe", suiteBroker.addrs)
	postTo(t, p, "before", 30)
	waitFor(t, time.Minute, "both deliver", func() bool { return a.delivered() == 30 && b.delivered() == 30 })
	old := configOf(t, p)
	if err := os.Remove(filepath.Join(e.dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	if v := reloadTo(t, p, old.Hash); len(v.Connectors) != 1 || v.Connectors[0].Name != "a" {
		t.Fatalf("connectors in force after removing b: %+v", v.Connectors)
	}
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/v1/connectors/b"}, {http.MethodPost, "/v1/connectors/b:disable"}, {http.MethodPost, "/v1/connectors/b:sync"},
	} {
		if code := statusOf(t, p, req.method, req.path); code != http.StatusNotFound {
			t.Errorf("%s %s after removal: %d, want 404", req.method, req.path, code)
		}
	}
	postTo(t, p, "after", 30)
	waitFor(t, time.Minute, "a delivers after the removal", func() bool { return countTag(a, "after") == 30 })
	if n := countTag(b, "after"); n != 0 {
		t.Errorf("the removed connector received %d events", n)
	}
	e.wantTopics(e.topics().Connector("b"), e.topics().DLQ("b"))
}

// With --watch, a changed file is applied without SIGHUP; a save that
// does not parse (a half-written file) is reported and changes nothing,
// and the next good save supersedes it.
func TestReloadWatchAppliesChange(t *testing.T) {
	e := newEnv(t)
	old, moved := newReceiver(t, nil), newReceiver(t, nil)
	e.connector("a", `url = "`+old.URL+`"`)
	p := e.spawn("hookpipe", suiteBroker.addrs, "--watch")
	before := configOf(t, p)
	if err := os.WriteFile(filepath.Join(e.dir, "a.hcl"), []byte("connector \"a\" {\n  url = \""+moved.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the half-written save reported", func() bool { return configOf(t, p).Rejected != nil })
	if v := configOf(t, p); v.Hash != before.Hash {
		t.Fatalf("a half-written save changed the config in force")
	}
	e.connector("a", `url = "`+moved.URL+`"`)
	waitFor(t, time.Minute, "the watched change in force", func() bool {
		v := configOf(t, p)
		return v.Hash != before.Hash && v.Rejected == nil
	})
	postTo(t, p, "after", 20)
	waitFor(t, time.Minute, "the new URL receives", func() bool { return countTag(moved, "after") == 20 })
	if n := old.delivered(); n != 0 {
		t.Errorf("the old URL received %d events posted after the change", n)
	}
}

// wantTopics fails unless every topic exists.
func (e *env) wantTopics(topics ...string) {
	e.t.Helper()
	cl, err := e.kafka().NewClient()
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(e.t.Context(), topics...)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tp := range topics {
		if d, ok := td[tp]; !ok || d.Err != nil {
			e.t.Errorf("topic %s is gone", tp)
		}
	}
}
