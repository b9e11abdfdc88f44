package bench

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/hookpipe/hookpipe/stages/deliver"
)

// transport is how a run's receivers serve webhooks.
type transport struct {
	// Name is "http", "https/1.1" or "https/2"; it names runs.
	Name string
	// TLS serves HTTPS with the run's CA-signed certificate.
	TLS bool
	// H2 offers HTTP/2 by ALPN ("h2", then "http/1.1") and sets the
	// connectors' http2 = true; without it the receiver offers "http/1.1"
	// only, as an HTTP/1.1-only endpoint does.
	H2 bool
}

var (
	plainHTTP = transport{Name: "http"}
	httpsH1   = transport{Name: "https/1.1", TLS: true}
	httpsH2   = transport{Name: "https/2", TLS: true, H2: true}
)

// h2MaxStreams is the receivers' HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS:
// 128, what nginx and AWS load balancers advertise (Go's own default is
// 250). A client with more requests in flight needs more connections.
const h2MaxStreams = 128

// connCounts counts, on the receiver side, the connections accepted and
// the TLS handshakes: ClientHellos seen, handshakes completed, how many of
// those resumed a session, and how many negotiated h2. It is safe for
// concurrent use.
type connCounts struct {
	conns, hellos, handshakes, resumed, h2 atomic.Int64
}

// connState is the http.Server's ConnState hook.
func (c *connCounts) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.conns.Add(1)
	}
}

// snapshot returns the counts so far.
func (c *connCounts) snapshot() connSnapshot {
	return connSnapshot{
		Conns: c.conns.Load(), Hellos: c.hellos.Load(), Handshakes: c.handshakes.Load(),
		Resumed: c.resumed.Load(), H2: c.h2.Load(),
	}
}

// connSnapshot is connCounts at one moment.
type connSnapshot struct {
	Conns, Hellos, Handshakes, Resumed, H2 int64
}

// sub returns the counts between before and s.
func (s connSnapshot) sub(before connSnapshot) connSnapshot {
	return connSnapshot{
		Conns: s.Conns - before.Conns, Hellos: s.Hellos - before.Hellos,
		Handshakes: s.Handshakes - before.Handshakes, Resumed: s.Resumed - before.Resumed, H2: s.H2 - before.H2,
	}
}

// serveTLS serves HTTPS on r.ln with r.cfg.Cert, offering HTTP/2 when the
// transport says so, and counts the handshakes.
func (r *receiver) serveTLS() {
	c := &r.conns
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*r.cfg.Cert},
		MinVersion:   tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c.hellos.Add(1)
			return nil, nil // the config as it is
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			c.handshakes.Add(1)
			if cs.DidResume {
				c.resumed.Add(1)
			}
			if cs.NegotiatedProtocol == "h2" {
				c.h2.Add(1)
			}
			return nil
		},
	}
	r.srv.TLSConfig = cfg
	r.srv.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by the end of a run
	r.srv.Protocols = new(http.Protocols)
	r.srv.Protocols.SetHTTP1(true)
	if r.cfg.Transport.H2 {
		r.srv.Protocols.SetHTTP2(true)
		r.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: h2MaxStreams}
	}
	go func() { _ = r.srv.ServeTLS(r.ln, "", "") }()
}

// transports returns the transports that the scenarios comparing them
// run over: plain HTTP, or with TLS HTTPS over HTTP/1.1 and over HTTP/2.
// The first is the one the other scenarios use.
func (b *Bench) transports() []transport {
	if b.opts.TLS {
		return []transport{httpsH1, httpsH2}
	}
	return []transport{plainHTTP}
}

// deliveryClient returns the client a connector over t has: the deliver
// stage's HTTP/1.1 client, or its HTTP/2 one (http2 = true), trusting the
// run's CA.
func (b *Bench) deliveryClient(t transport, maxInFlight int) *http.Client {
	var cfg *tls.Config
	if t.TLS && b.ca != nil {
		cfg = b.ca.clientTLS()
	}
	if t.H2 {
		return deliver.NewHTTP2Client(cfg)
	}
	return deliver.NewHTTPClient(maxInFlight, cfg)
}
