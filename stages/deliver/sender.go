package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// maxResponseDrain is how much of a response body is read (and discarded)
// so that the connection can be reused.
const maxResponseDrain = 64 << 10

// Result is the outcome of one request.
type Result struct {
	// OK is true for a 2xx answer.
	OK bool
	// Status is the HTTP status, 0 when there was no answer.
	Status int
	// Class is "2xx", "3xx", "4xx", "5xx", "timeout" or "network".
	Class string
	// Err describes a failure for the retry headers and logs. It never
	// contains the URL, the headers or the secret.
	Err string
	// Took is the request's duration.
	Took time.Duration
	// RetryAfter is the answer's Retry-After header, "" when absent or
	// the answer is a 2xx.
	RetryAfter string
}

// Sender POSTs webhook bodies to one connector's endpoint. It is safe for
// concurrent use; each call signs afresh with the connector's scheme.
type Sender struct {
	url     string
	tmpl    *http.Request // a POST to tmplURL, copied per request; never sent itself
	tmplURL string
	timeout time.Duration
	header  http.Header
	signer  signature.RequestSigner // nil: unsigned
	client  *http.Client
	rt      http.RoundTripper // client's transport, called directly
	h1      *h1Pool           // when set, HTTP/1.1 requests go through it (see useH1)
	h1Head  []byte
}

// NewSender returns a Sender for c. client may be nil for a client whose
// connection pool fits c.MaxInFlight; TLS verification is always on. It
// panics when c's signature settings are invalid, which LoadConnectors
// never returns.
func NewSender(c *pipeline.Connector, version string, client *http.Client) *Sender {
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "hookpipe/"+version)
	s := &Sender{url: c.URL.String(), timeout: c.Timeout, header: h, client: client}
	s.tmpl, s.tmplURL = template(s.url), s.url
	s.signer = requestSigner(c)
	if s.client == nil && c.HTTP2 {
		s.client = NewHTTP2Client(c.TLS)
	} else if s.client == nil {
		s.client = NewHTTPClient(c.MaxInFlight, c.TLS)
	}
	s.rt = roundTripper(s.client)
	return s
}

// roundTripper returns the transport of client, which Send calls without
// http.Client: redirects are never followed (a 3xx is a failure), so the
// client's redirect bookkeeping, a copy of the headers per request among
// it, buys nothing.
func roundTripper(client *http.Client) http.RoundTripper {
	if client.Transport == nil {
		return http.DefaultTransport
	}
	return client.Transport
}

// NewHTTPClient returns an HTTP/1.1 client that opens at most maxConns
// connections to the endpoint and keeps them all alive, and never follows
// redirects (a 3xx is a failure). With at most maxConns requests in
// flight, a request that finds no idle connection waits for the next one
// returned rather than dialing one more that the idle pool would close:
// without the bound, a busy client keeps opening (and handshaking)
// connections it throws away. It does not offer HTTP/2, even to an endpoint that would take
// it: see NewHTTP2Client. tlsCfg, when not nil, sets roots and a client
// certificate; certificates are always verified.
func NewHTTPClient(maxConns int, tlsCfg *tls.Config) *http.Client {
	t := newTransport(tlsCfg)
	t.Protocols.SetHTTP1(true)
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = maxConns
	return noRedirects(t)
}

// h2DialsAtOnce bounds the connections an HTTP/2 client dials at once to
// one endpoint. Without it, every request that finds the open connections
// at the endpoint's stream limit dials a connection of its own, and all
// but one are closed after their TLS handshake.
const h2DialsAtOnce = 4

// NewHTTP2Client returns a client that speaks HTTP/2 only, over TLS (ALPN
// "h2"; an endpoint without it fails the request), opening another
// connection when the open ones are at the endpoint's stream limit, at
// most h2DialsAtOnce at a time. It never follows redirects. tlsCfg is as
// for NewHTTPClient.
func NewHTTP2Client(tlsCfg *tls.Config) *http.Client {
	t := newTransport(tlsCfg)
	t.Protocols.SetHTTP2(true)
	t.MaxConnsPerHost = h2DialsAtOnce
	return noRedirects(t)
}

// newTransport returns the default transport's timeouts with tlsCfg and
// an empty protocol set. It asks for no compressed answers: an answer's
// body is read only to reuse the connection, so gzip would only add a
// header to every request and a check to every answer.
func newTransport(tlsCfg *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg.Clone()
	}
	t.ForceAttemptHTTP2 = false
	t.Protocols = new(http.Protocols)
	return t
}

func noRedirects(t *http.Transport) *http.Client {
	return &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// requestSigner returns c's signer, nil when c is unsigned. A connector
// built by hand with only SignatureSecret signs with dt-jwt.
func requestSigner(c *pipeline.Connector) signature.RequestSigner {
	secrets := c.SignatureSecrets
	if len(secrets) == 0 && c.SignatureSecret != "" {
		secrets = []string{c.SignatureSecret}
	}
	if len(secrets) == 0 {
		return nil
	}
	sg, err := signature.NewRequestSigner(c.SignatureScheme, secrets)
	if err != nil {
		panic(fmt.Sprintf("connector %s: %v", c.Name, err))
	}
	return sg
}

// Send is SendEvent without an event id, for bodies that are not events.
// A standard-webhooks connector then sends an empty webhook-id.
func (s *Sender) Send(ctx context.Context, body []byte) Result {
	return s.SendEvent(ctx, "", body)
}

// SendEvent POSTs body, the event eventID (the webhook-id of
// standard-webhooks), and classifies the answer. It returns when the
// endpoint answered, the connector's timeout passed, or ctx ended.
func (s *Sender) SendEvent(ctx context.Context, eventID string, body []byte) Result {
	if s.h1 != nil && s.tmplURL == s.url {
		return s.sendH1(ctx, eventID, body)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	req, err := s.request(ctx, body)
	if err != nil {
		return Result{Class: "network", Err: "request: " + err.Error()}
	}
	req.Header = make(http.Header, len(s.header)+3)
	for k, v := range s.header {
		req.Header[k] = v // shared, never written: the transport only reads
	}
	if s.signer != nil {
		s.signer.SignRequest(req.Header, eventID, body, start)
	}
	resp, err := s.rt.RoundTrip(req)
	took := time.Since(start)
	if err != nil {
		return failure(ctx, err, s.timeout, took)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))
	_ = resp.Body.Close()
	res := Result{Status: resp.StatusCode, Class: statusClass(resp.StatusCode), Took: took}
	res.OK = res.Class == "2xx"
	if !res.OK {
		res.Err = resp.Status
		res.RetryAfter = resp.Header.Get("Retry-After")
	}
	return res
}

// failure classifies a transport error without the URL it carries.
func failure(ctx context.Context, err error, timeout, took time.Duration) Result {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Result{Class: "timeout", Err: fmt.Sprintf("timeout after %s", timeout), Took: took}
	}
	return Result{Class: "network", Err: "network: " + err.Error(), Took: took}
}

func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	default:
		return "5xx"
	}
}

// template returns the request that Sender.request copies, or nil when url
// does not parse (request then reports the error per request).
func template(url string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		return nil
	}
	return req
}

// request returns a POST of body to s.url under ctx. It copies s.tmpl
// instead of parsing the URL again: the transport only reads a request's
// URL, so the copies share it. Body, GetBody and ContentLength are set
// as http.NewRequestWithContext sets them for a *bytes.Reader, so the
// transport still writes headers and body in one write and may resend the
// body on a connection that was closed before the request was sent.
func (s *Sender) request(ctx context.Context, body []byte) (*http.Request, error) {
	if s.tmpl == nil || s.tmplURL != s.url { // url changed since NewSender (tests do)
		return http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	}
	req := s.tmpl.WithContext(ctx)
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return req, nil
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return req, nil
}
