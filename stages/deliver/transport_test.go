package deliver

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Connectors with the same scheme, host and TLS settings share one client
// (one connection pool); a different host, scheme or client certificate
// gets its own.
func TestTransportsShareByHostAndTLS(t *testing.T) {
	conn := func(raw string, tc *tls.Config) *pipeline.Connector {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return &pipeline.Connector{URL: u, MaxInFlight: 10, TLS: tc}
	}
	certA := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{[]byte("cert-a")}}}}
	certA2 := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{[]byte("cert-a")}}}}
	certB := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{[]byte("cert-b")}}}}
	ts := NewTransports()
	a := ts.Client(conn("https://h.example/one", nil))
	cases := []struct {
		name  string
		c     *pipeline.Connector
		share bool
	}{
		{"same host, other path", conn("https://h.example/two", nil), true},
		{"other host", conn("https://other.example/one", nil), false},
		{"other scheme", conn("http://h.example/one", nil), false},
		{"other port", conn("https://h.example:8443/one", nil), false},
		{"client certificate", conn("https://h.example/one", certA), false},
	}
	for _, c := range cases {
		if got := ts.Client(c.c) == a; got != c.share {
			t.Errorf("%s: shares the client %v, want %v", c.name, got, c.share)
		}
	}
	if ts.Client(conn("https://h.example/x", certA2)) != ts.Client(conn("https://h.example/y", certA)) {
		t.Error("equal client certificates in two tls.Configs do not share a client")
	}
	if ts.Client(conn("https://h.example/x", certB)) == ts.Client(conn("https://h.example/y", certA)) {
		t.Error("different client certificates share a client")
	}
	if n := ts.Len(); n != 6 {
		t.Errorf("%d transports, want 6", n)
	}
}

// Once sealed (connectors change while requests are sent), a Client call
// that raises a shared transport's connection bound leaves the transport
// in use untouched and hands out a new one with the raised bound, shared
// from then on.
func TestTransportsSealedRaiseLeavesTransportInUse(t *testing.T) {
	u, _ := url.Parse("http://h.example/one")
	conn := &pipeline.Connector{URL: u, MaxInFlight: 10}
	ts := NewTransports()
	inUse := ts.Client(conn)
	ts.seal()
	raised := ts.Client(conn)
	if raised == inUse {
		t.Fatal("a sealed set raised the bound of the transport in use")
	}
	if got := inUse.Transport.(*http.Transport).MaxConnsPerHost; got != 10 {
		t.Errorf("the transport in use has bound %d after the raise, want 10", got)
	}
	if got := raised.Transport.(*http.Transport).MaxConnsPerHost; got != 20 {
		t.Errorf("the new transport has bound %d, want 20", got)
	}
	if ts.Client(&pipeline.Connector{URL: u}) != raised {
		t.Error("a connector adding nothing to the bound does not share the new transport")
	}
}
