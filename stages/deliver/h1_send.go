package deliver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// h1Eligible reports whether c's requests may go through an h1Pool rather
// than net/http: HTTP/1.1 (not http2 = true), an http or https URL with
// an ASCII host, no user info (net/http turns it into basic
// authentication), no proxy from the environment for it, and headers
// that net/http would send unchanged. Anything else keeps net/http.
func h1Eligible(c *pipeline.Connector) bool {
	if c.HTTP2 || c.URL == nil || (c.URL.Scheme != "http" && c.URL.Scheme != "https") || c.URL.Host == "" || c.URL.User != nil {
		return false
	}
	for _, r := range c.URL.Host {
		if r >= 0x80 {
			return false
		}
	}
	if u, err := http.ProxyFromEnvironment(&http.Request{URL: c.URL}); u != nil || err != nil {
		return false
	}
	for k, v := range c.Headers {
		if !validHeader(k, v) {
			return false
		}
	}
	return true
}

// newH1PoolFor returns a pool for c's endpoint with room for maxConns
// connections.
func newH1PoolFor(c *pipeline.Connector, maxConns int) *h1Pool {
	host, port := c.URL.Hostname(), c.URL.Port()
	var tlsCfg *tls.Config
	if c.URL.Scheme == "https" {
		tlsCfg = &tls.Config{}
		if c.TLS != nil {
			tlsCfg = c.TLS.Clone()
		}
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = host
		}
		if port == "" {
			port = "443"
		}
	} else if port == "" {
		port = "80"
	}
	return newH1Pool(net.JoinHostPort(host, port), tlsCfg, maxConns)
}

// useH1 makes s send through pool, with the head of its requests
// rendered once: request line, Host and its fixed headers.
func (s *Sender) useH1(pool *h1Pool, u *url.URL) {
	head := []byte("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	keys := make([]string, 0, len(s.header))
	for k := range s.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range s.header[k] {
			v = strings.Trim(v, " \t") // as net/http writes it
			head = append(append(append(append(head, k...), ": "...), v...), "\r\n"...)
		}
	}
	s.h1, s.h1Head = pool, head
}

var (
	h1Bufs    = sync.Pool{New: func() any { return new([]byte) }}
	h1Headers = sync.Pool{New: func() any { return make(http.Header, 3) }}
)

// sendH1 is SendEvent through s.h1: the request is written in one write
// and its answer read on this goroutine. Results are classified as
// SendEvent classifies net/http's.
func (s *Sender) sendH1(ctx context.Context, eventID string, body []byte) Result {
	start := time.Now()
	bp := h1Bufs.Get().(*[]byte)
	defer h1Bufs.Put(bp)
	b := append((*bp)[:0], s.h1Head...)
	if s.signer != nil {
		h := h1Headers.Get().(http.Header)
		s.signer.SignRequest(h, eventID, body, start)
		var bad string
		for k, vs := range h {
			for _, v := range vs {
				if !validHeader(k, v) {
					bad = k
				}
				b = append(append(append(append(b, k...), ": "...), v...), "\r\n"...)
			}
		}
		clear(h)
		h1Headers.Put(h)
		if bad != "" {
			return Result{Class: "network", Err: "request: invalid header field value for " + strconv.Quote(bad)}
		}
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(append(b, "\r\n\r\n"...), body...)
	*bp = b
	a, err := s.h1.roundTrip(ctx, start.Add(s.timeout), b)
	took := time.Since(start)
	if err != nil {
		return failure(ctx, err, s.timeout, took)
	}
	res := Result{Status: a.status, Class: statusClass(a.status), Took: took}
	res.OK = res.Class == "2xx"
	if !res.OK {
		res.Err, res.RetryAfter = a.statusText, a.retryAfter
	}
	return res
}

// validHeader reports whether net/http would send name: value as given:
// a token name, and a value without control characters other than tab.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '"' || c == '(' || c == ')' || c == ',' || c == '/' ||
			c == ';' || c == '<' || c == '=' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' ||
			c == ']' || c == '{' || c == '}' {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
