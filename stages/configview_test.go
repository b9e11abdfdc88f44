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
