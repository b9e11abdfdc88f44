package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// A non-2xx answer carries its Retry-After header; a 2xx never does.
func TestSenderRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		if r.URL.Query().Get("ok") != "" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &pipeline.Connector{Name: "c", URL: u, Timeout: time.Second, MaxInFlight: 1}
	if res := NewSender(c, "v", nil).Send(context.Background(), nil); res.Status != 429 || res.RetryAfter != "3" {
		t.Errorf("429: %+v", res)
	}
	u.RawQuery = "ok=1"
	if res := NewSender(c, "v", nil).Send(context.Background(), nil); !res.OK || res.RetryAfter != "" {
		t.Errorf("200: %+v", res)
	}
}
