package stages

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
)

func testAPI(t *testing.T) http.Handler {
	t.Helper()
	u, _ := url.Parse("https://a.example/h")
	return NewAPI(APIConfig{
		Connectors: []*pipeline.Connector{
			{Name: "all", URL: u},
			{Name: "cold", URL: u, Events: []string{"temperature", "humidity"}},
		},
		Metrics: metrics.NewMetrics(),
	})
}

// call sends method path to h and decodes the JSON answer into out.
func call(t *testing.T, h http.Handler, method, path string, out any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json; body %q", method, path, ct, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Errorf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	return rec
}

// Unknown paths and methods get JSON errors like every other error, with
// the status and Allow header the mux would give.
func TestAPIErrorsAreJSON(t *testing.T) {
	h := testAPI(t)
	tests := []struct {
		method, path string
		code         int
		allow, want  string
	}{
		{"GET", "/nope", 404, "", `no such path "/nope"; the API serves /v1/events`},
		{"GET", "/v1/connectors/all/extra", 404, "", `no such path`},
		{"POST", "/v1/connectors", 405, "GET, HEAD", "method POST not allowed on /v1/connectors; use GET or HEAD"},
		{"DELETE", "/healthz", 405, "GET, HEAD", "method DELETE not allowed on /healthz"},
		{"POST", "/v1/events", 404, "", "this process runs no ingest stage"},
		{"GET", "/v1/connectors/zzz", 404, "", `no connector named "zzz"`},
	}
	for _, tt := range tests {
		var body map[string]string
		rec := call(t, h, tt.method, tt.path, &body)
		if rec.Code != tt.code || rec.Header().Get("Allow") != tt.allow || !strings.Contains(body["error"], tt.want) {
			t.Errorf("%s %s: %d, Allow %q, %q; want %d, Allow %q, error containing %q",
				tt.method, tt.path, rec.Code, rec.Header().Get("Allow"), body["error"], tt.code, tt.allow, tt.want)
		}
	}
	var ok map[string]string
	if rec := call(t, h, "GET", "/healthz", &ok); rec.Code != 200 || ok["status"] != "ok" {
		t.Errorf("GET /healthz: %d %v", rec.Code, ok)
	}
}

// A connector with no filter shows every event type; a filter shows as is.
func TestAPIConnectorEvents(t *testing.T) {
	var body struct {
		Connectors []ConnectorView `json:"connectors"`
	}
	if rec := call(t, testAPI(t), "GET", "/v1/connectors", &body); rec.Code != 200 || len(body.Connectors) != 2 {
		t.Fatalf("GET /v1/connectors: %d %+v", rec.Code, body)
	}
	if got := body.Connectors[0].Events; !slices.Equal(got, pipeline.EventTypes()) {
		t.Errorf("no filter: events %v, want all %d types", got, len(pipeline.EventTypes()))
	}
	if got := body.Connectors[1].Events; !slices.Equal(got, []string{"temperature", "humidity"}) {
		t.Errorf("filter: events %v", got)
	}
}
