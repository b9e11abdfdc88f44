package integration

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// connectorState returns the state GET /v1/connectors/{name} shows, with
// the whole answer.
func connectorState(t *testing.T, r *running, name string) (string, map[string]any) {
	t.Helper()
	resp, err := http.Get(r.url("/v1/connectors/" + name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	s, _ := v["state"].(string)
	return s, v
}

// control posts :disable or :enable for name and fails the test unless
// the API answers 200.
func control(t *testing.T, r *running, name, verb string) {
	t.Helper()
	resp, err := http.Post(r.url("/v1/connectors/"+name+":"+verb), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s:%s: %s", name, verb, resp.Status)
	}
}

// :disable on one process is seen by another within a second, and a
// process started after both stopped still finds the connector disabled;
// :enable is seen the same way.
func TestStateAgreedAndKept(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("shared", `url = "`+rc.URL+`"`)
	a := e.start()
	waitReady(t, a)
	b := e.start("deliver", "retry")
	waitReady(t, b)
	began := time.Now() // :disable answers once Kafka stored the state
	control(t, a, "shared", "disable")
	waitFor(t, 10*time.Second, "the other process to see USER_DISABLED", func() bool {
		s, _ := connectorState(t, b, "shared")
		return s == "USER_DISABLED"
	})
	t.Logf("the other process agreed after %s", time.Since(began).Round(time.Millisecond))
	if took := time.Since(began); took > time.Second {
		t.Errorf("the other process agreed after %s, want within a second", took)
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.stop(); err != nil {
		t.Fatal(err)
	}
	c := e.start()
	waitReady(t, c)
	if s, v := connectorState(t, c, "shared"); s != "USER_DISABLED" || v["reason"] != "disabled through the API" {
		t.Fatalf("after a restart: %v", v)
	}
	control(t, c, "shared", "enable")
	if s, _ := connectorState(t, c, "shared"); s != "ACTIVE" {
		t.Fatalf("after :enable: %s", s)
	}
}

// waitReady polls /readyz until the process is ready: among others, its
// state store has been read.
func waitReady(t *testing.T, r *running) {
	t.Helper()
	waitFor(t, 30*time.Second, "/readyz", func() bool {
		resp, err := http.Get(r.url("/readyz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
