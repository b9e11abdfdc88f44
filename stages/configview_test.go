package stages

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

// GET /v1/config shows the connectors in force with the load time and the
// configuration's hash, the scheme and number of secrets, and no secret
// or header value.
func TestConfigEndpoint(t *testing.T) {
	u, _ := url.Parse("https://e.example/h")
	conns := []*pipeline.Connector{{
		Name: "a", URL: u, Timeout: time.Second, MaxInFlight: 5, Headers: map[string]string{"X-Key": "hdr-s3cret"},
		SignatureScheme: "standard-webhooks", SignatureSecrets: []string{"whsec_bmV3LXMzY3JldA==", "whsec_b2xkLXMzY3JldA=="},
		SignatureSecret: "whsec_bmV3LXMzY3JldA==",
		Retry:           pipeline.RetryPolicy{Backoff: []time.Duration{time.Second}, MaxAge: time.Hour},
	}}
	at := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	api := NewAPI(APIConfig{Connectors: conns, Metrics: metrics.NewMetrics(), LoadedAt: at})
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/config", nil))
	body := rec.Body.String()
	for _, secret := range []string{"hdr-s3cret", "bmV3LXMzY3JldA", "b2xkLXMzY3JldA"} {
		if strings.Contains(body, secret) {
			t.Errorf("/v1/config shows a secret: %s", body)
		}
	}
	var v ConfigView
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %s: %v", rec.Code, body, err)
	}
	c := v.Connectors[0]
	if !v.LoadedAt.Equal(at) || v.Hash != config.Hash(conns) || c.Hash != config.ConnectorHash(conns[0]) ||
		c.Signature == nil || c.Signature.Scheme != "standard-webhooks" || c.Signature.Secrets != 2 || c.Headers["X-Key"] != "(redacted)" {
		t.Errorf("view %+v, connector %+v", v, c)
	}
}

// GET /v1/config shows the endpoint-health settings and http2 under their
// camelCase names, so that a reloaded rate_limit or breaker can be seen
// in force.
func TestConfigEndpointHealthSettings(t *testing.T) {
	u, _ := url.Parse("https://e.example/h")
	c := &pipeline.Connector{
		Name: "a", URL: u, Timeout: time.Second, MaxInFlight: 5, HTTP2: true, RateLimit: 12.5, DisableAfter: 24 * time.Hour,
		CircuitBreaker: pipeline.CircuitBreaker{FailureRatio: 0.9, MinRequests: 5, Window: time.Minute, Cooldown: 30 * time.Second, Disabled: true},
		Retry:          pipeline.RetryPolicy{Backoff: []time.Duration{time.Second}, MaxAge: time.Hour},
	}
	api := NewAPI(APIConfig{Connectors: []*pipeline.Connector{c}, Metrics: metrics.NewMetrics(), LoadedAt: time.Now()})
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/config", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`"circuitBreaker":{"failureRatio":0.9,"minRequests":5,"window":"1m0s","cooldown":"30s","disabled":true}`,
		`"rateLimit":12.5`, `"disableAfter":"24h0m0s"`, `"http2":true`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /v1/config: %s\nwant it to contain %s", body, want)
		}
	}
}
