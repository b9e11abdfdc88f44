package stages

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// :disable and :enable need the ingest token, change the state GET
// shows, and name what is wrong with a bad request.
func TestAPIConnectorControl(t *testing.T) {
	u, _ := url.Parse("https://example.com/hook")
	c := &pipeline.Connector{Name: "billing", URL: u, Timeout: time.Second, MaxInFlight: 1,
		Retry:          pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: time.Hour},
		CircuitBreaker: pipeline.DefaultCircuitBreaker()}
	m := metrics.NewMetrics()
	h := health.New(health.Config{Connectors: []*pipeline.Connector{c}, Metrics: m})
	srv := httptest.NewServer(NewAPI(APIConfig{Connectors: []*pipeline.Connector{c}, Metrics: m, Health: h, Token: "tok"}))
	defer srv.Close()

	do := func(method, path, token string) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	tests := []struct {
		method, path, token string
		code                int
		key, want           string
	}{
		{"POST", "/v1/connectors/billing:disable", "", 401, "error", "unauthorized"},
		{"POST", "/v1/connectors/billing:disable", "wrong", 401, "error", "unauthorized"},
		{"POST", "/v1/connectors/billing:disable", "tok", 200, "state", "USER_DISABLED"},
		{"GET", "/v1/connectors/billing", "", 200, "state", "USER_DISABLED"},
		{"GET", "/v1/connectors/billing", "", 200, "reason", "disabled through the API"},
		{"POST", "/v1/connectors/billing:enable", "tok", 200, "state", "ACTIVE"},
		{"GET", "/v1/connectors/billing", "", 200, "expiresIn", "3600.000s"},
		{"GET", "/v1/connectors/billing", "", 200, "oldestPendingAge", "0.000s"},
		{"POST", "/v1/connectors/nope:enable", "tok", 404, "error", `no connector named "nope"`},
		{"POST", "/v1/connectors/billing:pause", "tok", 404, "error", `unknown action "pause": use {name}:disable or {name}:enable`},
	}
	for _, tt := range tests {
		code, body := do(tt.method, tt.path, tt.token)
		if code != tt.code || body[tt.key] != tt.want {
			t.Errorf("%s %s: %d %v, want %d with %s=%q", tt.method, tt.path, code, body, tt.code, tt.key, tt.want)
		}
	}
}
