package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/stages"
	"github.com/hookpipe/hookpipe/stages/plan"
)

// A plan of a changed directory against a running process names the new,
// removed and changed connectors attribute by attribute, the topics to
// create, and how many of the recent events the changed filters would
// route, per type; it never prints a secret.
func TestPlanAgainstRunningProcess(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("cold", `url = "`+rc.URL+`"
  events = ["temperature"]
  signature_secret = "old-s3cret-value"`)
	e.connector("legacy", `url = "`+rc.URL+`"`)
	r := e.start()
	if code, ans := r.post(t, "application/x-ndjson", fixture(t)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}

	resp, err := http.Get(r.url("/v1/config"))
	if err != nil {
		t.Fatal(err)
	}
	var cur stages.ConfigView
	err = json.NewDecoder(resp.Body).Decode(&cur)
	resp.Body.Close()
	if err != nil || len(cur.Connectors) != 2 || cur.Hash == "" {
		t.Fatalf("/v1/config: %+v, %v", cur, err)
	}

	next := t.TempDir()
	src := `connector "cold" {
  url = "` + rc.URL + `"
  events = ["temperature", "humidity"]
  signature_secret = "new-s3cret-value"
}
connector "billing" {
  url = "` + rc.URL + `"
  events = ["touch"]
}
`
	if err := os.WriteFile(filepath.Join(next, "c.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	conns, diags := config.LoadConnectors(next, os.LookupEnv)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	rep := &plan.Report{Dir: next, NextHash: config.Hash(conns), Current: &cur, API: r.url(""), EventsTopic: e.topics().Events()}
	rep.Changes = plan.Connectors(cur.Connectors, conns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := e.kafka().NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if rep.Topics, err = plan.Topics(ctx, kadm.NewClient(cl), e.topics().Specs(conns)); err != nil {
		t.Fatal(err)
	}
	if rep.Sample, err = plan.SampleEvents(ctx, e.kafka(), e.topics().Events(), 10000, time.Minute); err != nil {
		t.Fatal(err)
	}
	rep.AddRoutes(conns)
	var out bytes.Buffer
	rep.Write(&out)
	text := out.String()
	for _, want := range []string{
		"+ billing (new)",
		"- legacy (removed; its topics stay)",
		"~ cold",
		"events         temperature → temperature, humidity",
		"secrets        (hidden) → changed",
		"+ create  " + e.topics().Connector("billing") + " ",
		"over the last 19 event(s)",
		"billing would route 1: touch 1",
		"cold would route 2 (now 1): humidity 1, temperature 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "s3cret") {
		t.Errorf("plan shows a secret:\n%s", text)
	}
	if strings.Contains(text, "create  "+e.topics().Connector("cold")) {
		t.Errorf("plan creates a topic that exists:\n%s", text)
	}
}
