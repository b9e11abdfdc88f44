package stages

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

// With a token set, an action needs "Authorization: Bearer <token>",
// exactly as ingest does; checked before anything else, so a wrong token
// learns nothing about connector names.
func TestActionsAuth(t *testing.T) {
	u, _ := url.Parse("https://e.example")
	api := NewAPI(APIConfig{Metrics: metrics.NewMetrics(), Actions: NewActions(ActionsConfig{
		Connectors: []*pipeline.Connector{{Name: "a", URL: u}}, Token: "t0ken",
	})})
	for _, c := range []struct {
		auth, action string
		code         int
	}{
		{"", "a:replay", http.StatusUnauthorized},
		{"Bearer wrong", "nope:replay", http.StatusUnauthorized},
		{"Basic t0ken", "a:replay", http.StatusUnauthorized},
		{"Bearer t0ken", "nope:replay", http.StatusNotFound},
		{"bearer t0ken", "a:undo", http.StatusNotFound},
		{"Bearer t0ken", "a:sync", http.StatusNotImplemented},
	} {
		req := httptest.NewRequest(http.MethodPost, "/v1/connectors/"+c.action, strings.NewReader(""))
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), `"error"`) {
			t.Errorf("%q %s: %d %s, want %d with an error", c.auth, c.action, rec.Code, rec.Body, c.code)
		}
	}
}
