package deliver

import (
	"crypto/tls"
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
