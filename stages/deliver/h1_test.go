package deliver

import (
	"bufio"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// h1Sender returns a Sender for rawURL that sends through its own h1Pool
// of maxConns connections, as a deliver stage's worker does.
func h1Sender(t *testing.T, rawURL string, maxConns int, timeout time.Duration) (*Sender, *pipeline.Connector) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &pipeline.Connector{Name: "c", URL: u, Timeout: timeout, MaxInFlight: maxConns, SignatureSecret: "k",
		Headers: map[string]string{"X-Key": "v"}}
	pool := NewTransports().H1(c)
	if pool == nil {
		t.Fatalf("%s: not eligible for the HTTP/1.1 pool", rawURL)
	}
	s := NewSender(c, "v1", nil)
	s.useH1(pool, c.URL)
	return s, c
}

// The request an endpoint receives through the pool is the one net/http
// sends: method, target, Host, headers, a valid signature and the body.
func TestH1RequestAsNetHTTP(t *testing.T) {
	type seen struct {
		method, target, host string
		header               http.Header
		body                 string
	}
	got := make(chan seen, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Host, r.Header, string(b)}
	}))
	defer srv.Close()
	body := []byte(`{"a":1}`)
	lean, c := h1Sender(t, srv.URL+"/hook?x=1", 4, time.Second)
	plain := NewSender(c, "v1", nil)
	for _, s := range []*Sender{plain, lean} {
		if res := s.Send(context.Background(), body); !res.OK {
			t.Fatalf("send: %+v", res)
		}
	}
	want, have := <-got, <-got
	if have.method != want.method || have.target != want.target || have.host != want.host || have.body != want.body {
		t.Errorf("pool sent %+v, net/http %+v", have, want)
	}
	for _, k := range []string{"Content-Type", "User-Agent", "X-Key", "Content-Length"} {
		if have.header.Get(k) != want.header.Get(k) {
			t.Errorf("%s: pool %q, net/http %q", k, have.header.Get(k), want.header.Get(k))
		}
	}
	if _, err := signature.VerifyRequest(have.header, body, []byte("k"), time.Now()); err != nil {
		t.Errorf("signature: %v", err)
	}
}

// rawServer answers every request on a connection with answer (a whole
// HTTP answer), closing the connection after closeAfter answers (0:
// never), and counts connections.
func rawServer(t *testing.T, answer string, closeAfter int) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int64)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go serveRaw(nc, answer, closeAfter)
		}
	}()
	return ln.Addr().String(), conns
}

func serveRaw(nc net.Conn, answer string, closeAfter int) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		if _, err := io.WriteString(nc, answer); err != nil || n == closeAfter {
			return
		}
	}
}

// Answers are classified as net/http's are, and a connection is reused
// exactly when its answer was read whole and may be.
func TestH1Answers(t *testing.T) {
	for _, tc := range []struct {
		name, answer     string
		class, err, wait string
		reused           bool
	}{
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", "2xx", "", "", true},
		{"200 with a body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "2xx", "", "", true},
		{"chunked with a trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "2xx", "", "", true},
		{"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", "2xx", "", "", true},
		{"503 with Retry-After", "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno", "5xx", "503 Service Unavailable", "7", true},
		{"302", "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n", "3xx", "302 Found", "", true},
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "2xx", "", "", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "2xx", "", "", false},
		{"a body larger than the drain", "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("x", 70000), "2xx", "", "", false},
	} {
		addr, conns := rawServer(t, tc.answer, 0)
		s, _ := h1Sender(t, "http://"+addr+"/", 4, 2*time.Second)
		for i := 0; i < 2; i++ {
			res := s.Send(context.Background(), []byte("{}"))
			if res.Class != tc.class || res.Err != tc.err || res.RetryAfter != tc.wait || res.OK != (tc.class == "2xx") {
				t.Errorf("%s: %+v, want class %s, err %q, Retry-After %q", tc.name, res, tc.class, tc.err, tc.wait)
			}
		}
		if want := map[bool]int64{true: 1, false: 2}[tc.reused]; conns.Load() != want {
			t.Errorf("%s: %d connections for 2 requests, want %d", tc.name, conns.Load(), want)
		}
	}
}

// A kept-alive connection that the endpoint closed while it was idle is
// not a failure: the request goes again on a new connection.
func TestH1StaleConnectionRetried(t *testing.T) {
	addr, conns := rawServer(t, "HTTP/1.1 204 No Content\r\n\r\n", 1) // closes after each answer, unannounced
	s, _ := h1Sender(t, "http://"+addr+"/", 4, 2*time.Second)
	for i := 0; i < 3; i++ {
		if res := s.Send(context.Background(), []byte("{}")); !res.OK {
			t.Fatalf("send %d: %+v", i, res)
		}
		time.Sleep(20 * time.Millisecond) // let the close reach this side; the outcome must not depend on it
	}
	if conns.Load() < 3 {
		t.Errorf("%d connections for 3 requests on connections closed after each", conns.Load())
	}
}

// A slow endpoint is a timeout after the connector's timeout; a refused
// connection and a malformed answer are network failures.
func TestH1Failures(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	s, _ := h1Sender(t, slow.URL, 4, 100*time.Millisecond)
	if res := s.Send(context.Background(), nil); res.Class != "timeout" || res.Took < 100*time.Millisecond {
		t.Errorf("slow endpoint: %+v, want a timeout after 100ms", res)
	}
	s, _ = h1Sender(t, "http://127.0.0.1:1/", 4, time.Second)
	if res := s.Send(context.Background(), nil); res.Class != "network" || res.Err == "" {
		t.Errorf("refused: %+v", res)
	}
	addr, _ := rawServer(t, "SMTP ready\r\n\r\n", 0)
	s, _ = h1Sender(t, "http://"+addr+"/", 4, time.Second)
	if res := s.Send(context.Background(), nil); res.Class != "network" || !strings.Contains(res.Err, "malformed") {
		t.Errorf("not HTTP: %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, _ = h1Sender(t, slow.URL, 4, time.Minute)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if res := s.Send(ctx, nil); res.OK || res.Took > 10*time.Second {
		t.Errorf("cancelled: %+v", res)
	}
}

// The pool opens at most its bound of connections; sends beyond it wait
// for a connection, and all complete.
func TestH1PoolBound(t *testing.T) {
	var now, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := now.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
	}))
	defer srv.Close()
	s, _ := h1Sender(t, srv.URL, 2, 5*time.Second)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !s.Send(context.Background(), nil).OK {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || peak.Load() > 2 {
		t.Errorf("%d failed, peak %d requests at once; want 0 failed, at most 2", failed.Load(), peak.Load())
	}
}

// HTTPS endpoints are verified against the connector's roots.
func TestH1TLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	s, c := h1Sender(t, srv.URL, 4, 2*time.Second)
	if res := s.Send(context.Background(), nil); res.OK || res.Class != "network" {
		t.Errorf("untrusted certificate: %+v, want a network failure", res)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c.TLS = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c.TLS.RootCAs = roots
	s = NewSender(c, "v1", nil)
	s.useH1(NewTransports().H1(c), c.URL)
	if res := s.Send(context.Background(), nil); !res.OK {
		t.Errorf("trusted certificate: %+v", res)
	}
}

// Connectors that net/http serves differently keep net/http.
func TestH1Eligible(t *testing.T) {
	for raw, want := range map[string]bool{
		"http://example.com/hook":        true,
		"https://example.com:8443/h?x=1": true,
		"https://user:pw@example.com/":   false,
		"https://bücher.example/":        false,
		"ftp://example.com/":             false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := h1Eligible(&pipeline.Connector{URL: u}); got != want {
			t.Errorf("%s: eligible %v, want %v", raw, got, want)
		}
	}
	u, _ := url.Parse("https://example.com/")
	if h1Eligible(&pipeline.Connector{URL: u, HTTP2: true}) {
		t.Error("http2 = true: eligible, want net/http")
	}
	if h1Eligible(&pipeline.Connector{URL: u, Headers: map[string]string{"X-A": "a\nb"}}) {
		t.Error("a header value with a newline: eligible, want net/http's handling")
	}
}
