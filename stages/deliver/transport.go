package deliver

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"slices"
	"sync"

	"github.com/hookpipe/hookpipe/pipeline"
)

// maxIdlePerHost caps the idle connections a shared transport keeps to one
// host, however many connectors share it.
const maxIdlePerHost = 4096

// Transports hands out HTTP clients so that connectors whose endpoints
// have the same scheme and host:port and the same TLS settings (roots,
// client certificate, server name, minimum version) share one connection
// pool. A connector's in-flight limit is still its own: it is counted by
// the deliver stage, not by the pool. Client is safe for concurrent use,
// also while requests are sent (a reload): once the set is sealed, a
// transport handed out is never changed.
type Transports struct {
	mu     sync.Mutex
	byHost map[string][]*shared
	sealed bool // transports handed out may be in use: raise by a new one
	h1     map[string][]*sharedH1
}

type sharedH1 struct {
	tls  *tls.Config
	pool *h1Pool
}

// H1 returns the HTTP/1.1 pool for c (see h1Pool), shared as Client shares
// clients: by host and TLS settings, its connection bound raised by each
// connector's max_in_flight. It returns nil when c is not eligible
// (h1Eligible): such a connector sends through Client's.
func (ts *Transports) H1(c *pipeline.Connector) *h1Pool {
	if !h1Eligible(c) {
		return nil
	}
	key := c.URL.Scheme + "://" + c.URL.Host
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, s := range ts.h1[key] {
		if sameTLS(s.tls, c.TLS) {
			s.pool.grow(c.MaxInFlight)
			return s.pool
		}
	}
	if ts.h1 == nil {
		ts.h1 = make(map[string][]*sharedH1)
	}
	p := newH1PoolFor(c, c.MaxInFlight)
	ts.h1[key] = append(ts.h1[key], &sharedH1{tls: c.TLS, pool: p})
	return p
}

type shared struct {
	tls    *tls.Config
	http2  bool // an HTTP/2-only client (http2 = true)
	t      *http.Transport
	client *http.Client
}

// NewTransports returns an empty set of shared transports.
func NewTransports() *Transports { return &Transports{byHost: make(map[string][]*shared)} }

// Client returns the client for c: one already made for a connector with
// the same host, TLS settings and http2 setting, or a new one. An HTTP/1.1
// client's connection bound (kept-alive and open, see NewHTTPClient) is
// raised by c.MaxInFlight, up to 4096; an HTTP/2 client's connections
// follow the endpoint's stream limit (NewHTTP2Client).
func (ts *Transports) Client(c *pipeline.Connector) *http.Client {
	key := c.URL.Scheme + "://" + c.URL.Host
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, s := range ts.byHost[key] {
		if s.http2 == c.HTTP2 && sameTLS(s.tls, c.TLS) {
			if !s.http2 {
				s.raise(c.MaxInFlight, ts.sealed)
			}
			return s.client
		}
	}
	client := NewHTTPClient(min(c.MaxInFlight, maxIdlePerHost), c.TLS)
	if c.HTTP2 {
		client = NewHTTP2Client(c.TLS)
	}
	ts.byHost[key] = append(ts.byHost[key], &shared{tls: c.TLS, http2: c.HTTP2, t: client.Transport.(*http.Transport), client: client})
	return client
}

// seal makes later Client calls leave the transports handed out as they
// are: a raise of a shared HTTP/1.1 transport's bound then makes a new
// transport, shared from then on, while the old one serves its clients
// until they are gone (its idle connections close after its idle
// timeout). A stage seals its set when connectors change at run time.
func (ts *Transports) seal() {
	ts.mu.Lock()
	ts.sealed = true
	ts.mu.Unlock()
}

// raise adds n to s's connection bound, up to maxIdlePerHost; sealed, it
// does so on a copy of s's transport, which replaces it in s.
func (s *shared) raise(n int, sealed bool) {
	bound := min(s.t.MaxIdleConnsPerHost+n, maxIdlePerHost)
	if bound == s.t.MaxIdleConnsPerHost {
		return
	}
	if sealed {
		s.t = s.t.Clone()
		s.client = noRedirects(s.t)
	}
	s.t.MaxIdleConnsPerHost, s.t.MaxIdleConns, s.t.MaxConnsPerHost = bound, bound, bound
}

// Len returns how many transports were made.
func (ts *Transports) Len() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	n := 0
	for _, ss := range ts.byHost {
		n += len(ss)
	}
	return n
}

// sameTLS reports whether two connectors' TLS settings are the same as far
// as a connection is concerned.
func sameTLS(a, b *tls.Config) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	if a.ServerName != b.ServerName || a.MinVersion != b.MinVersion || a.MaxVersion != b.MaxVersion {
		return false
	}
	if (a.RootCAs == nil) != (b.RootCAs == nil) || (a.RootCAs != nil && !a.RootCAs.Equal(b.RootCAs)) {
		return false
	}
	return slices.EqualFunc(a.Certificates, b.Certificates, func(x, y tls.Certificate) bool {
		return slices.EqualFunc(x.Certificate, y.Certificate, bytes.Equal)
	})
}
