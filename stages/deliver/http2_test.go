package deliver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// A connector speaks HTTP/1.1 to an endpoint that offers HTTP/2 unless it
// sets http2, and then HTTP/2; either way the delivery succeeds.
func TestSenderProtocol(t *testing.T) {
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig // trusts srv's certificate
	for _, tt := range []struct {
		http2 bool
		want  string
	}{{false, "HTTP/1.1"}, {true, "HTTP/2.0"}} {
		c := &pipeline.Connector{Name: "c", URL: u, Timeout: pipeline.DefaultTimeout, MaxInFlight: 4, TLS: roots, HTTP2: tt.http2}
		if r := NewSender(c, "test", nil).Send(context.Background(), []byte(`{}`)); !r.OK {
			t.Fatalf("http2 = %v: send failed: %+v", tt.http2, r)
		}
		if got := proto.Load(); got != tt.want {
			t.Errorf("http2 = %v: the endpoint saw %v, want %s", tt.http2, got, tt.want)
		}
	}
}

// An http2 connector gets its own client beside an HTTP/1.1 one to the same
// host, and shares it with other http2 connectors; an HTTP/1.1 client's
// connection bound grows with each connector that shares it.
func TestTransportsSeparateHTTP2(t *testing.T) {
	u, err := url.Parse("https://h.example/hook")
	if err != nil {
		t.Fatal(err)
	}
	ts := NewTransports()
	h1 := ts.Client(&pipeline.Connector{URL: u, MaxInFlight: 10})
	h2 := ts.Client(&pipeline.Connector{URL: u, MaxInFlight: 10, HTTP2: true})
	if h1 == h2 {
		t.Fatal("an http2 connector shares an HTTP/1.1 client")
	}
	if ts.Client(&pipeline.Connector{URL: u, MaxInFlight: 5, HTTP2: true}) != h2 {
		t.Error("two http2 connectors to one host do not share a client")
	}
	if ts.Client(&pipeline.Connector{URL: u, MaxInFlight: 5}) != h1 {
		t.Fatal("two HTTP/1.1 connectors to one host do not share a client")
	}
	tr := h1.Transport.(*http.Transport)
	if tr.MaxConnsPerHost != 15 || tr.MaxIdleConnsPerHost != 15 {
		t.Errorf("shared HTTP/1.1 bounds: %d open, %d idle; want 15 and 15", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	}
}
