package stages

import (
	"fmt"
	"net/http"
	"strings"
)

// apiPaths names the API's paths in the answer to an unknown one.
const apiPaths = "/v1/events, /v1/connectors, /v1/connectors/{name}, /v1/connectors/{name}:sync, :replay, :disable, :enable, /v1/config, /metrics, /healthz, /readyz"

// jsonErrors serves mux, answering the mux's own errors as JSON: an
// unknown path is 404 and a method the path does not take is 405 with
// its Allow header. Other answers (the handlers', redirects) pass as is.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/events" { // ingest answers every method itself: one lookup on the hot path
			mux.ServeHTTP(w, r)
			return
		}
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values, which h alone would not
			return
		}
		rec := &muxAnswer{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusNotFound:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no such path %q; the API serves %s", r.URL.Path, apiPaths)})
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": fmt.Sprintf("method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.ReplaceAll(allow, ", ", " or "))})
		default:
			mux.ServeHTTP(w, r)
		}
	})
}

// muxAnswer records the status and headers of one of the mux's own
// answers, dropping its plain-text body.
type muxAnswer struct {
	header http.Header
	code   int
}

func (a *muxAnswer) Header() http.Header { return a.header }

func (a *muxAnswer) WriteHeader(code int) {
	if a.code == 0 {
		a.code = code
	}
}

func (a *muxAnswer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return len(b), nil
}
