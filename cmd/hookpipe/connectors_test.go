package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// hookpipe connectors disable, list and enable talk to a process's API,
// with the token, and print what changed; bad usage exits 2.
func TestConnectorsCommand(t *testing.T) {
	u, _ := url.Parse("https://example.com/hook")
	c := &pipeline.Connector{Name: "billing", URL: u, Timeout: time.Second, MaxInFlight: 1,
		Retry:          pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: time.Hour},
		CircuitBreaker: pipeline.DefaultCircuitBreaker()}
	m := metrics.NewMetrics()
	h := health.New(health.Config{Connectors: []*pipeline.Connector{c}, Metrics: m})
	srv := httptest.NewServer(stages.NewAPI(stages.APIConfig{Connectors: []*pipeline.Connector{c}, Metrics: m, Health: h, Token: "tok"}))
	defer srv.Close()
	ctx := context.Background()
	hp := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"connectors"}, args...), &out, &errb)
		return out.String() + errb.String(), err
	}
	if out, err := hp("disable", "billing", "--api", srv.URL, "--token", "tok"); err != nil || out != "billing: USER_DISABLED\n" {
		t.Fatalf("disable: %q %v", out, err)
	}
	out, err := hp("list", "--api", srv.URL)
	if err != nil || !strings.Contains(out, "billing  USER_DISABLED") || !strings.Contains(out, "disabled through the API") {
		t.Fatalf("list: %q %v", out, err)
	}
	if out, err := hp("--api", srv.URL, "enable", "billing"); err == nil || !strings.Contains(err.Error(), "401 Unauthorized: unauthorized") {
		t.Fatalf("enable without token: %q %v", out, err)
	}
	if out, err := hp("enable", "billing", "--api", srv.URL, "--token", "tok"); err != nil || out != "billing: ACTIVE\n" {
		t.Fatalf("enable: %q %v", out, err)
	}
	if _, err := hp("enable", "nope", "--api", srv.URL, "--token", "tok"); err == nil || !strings.Contains(err.Error(), `no connector named "nope"`) {
		t.Fatalf("unknown connector: %v", err)
	}
	for _, bad := range [][]string{{}, {"disable"}, {"pause", "billing"}, {"list", "extra"}} {
		if _, err := hp(bad...); !errors.Is(err, errUsage) {
			t.Errorf("connectors %v: %v, want usage", bad, err)
		}
	}
}
