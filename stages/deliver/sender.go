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
	timeout time.Duration
	header  http.Header
	signer  signature.RequestSigner // nil: unsigned
	client  *http.Client
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
	s.signer = requestSigner(c)
	if s.client == nil {
		s.client = NewHTTPClient(c.MaxInFlight, c.TLS)
	}
	return s
}

// NewHTTPClient returns a client that keeps up to maxConns idle connections
// to the endpoint and never follows redirects (a 3xx is a failure). tlsCfg,
// when not nil, sets roots and a client certificate; certificates are
// always verified.
func NewHTTPClient(maxConns int, tlsCfg *tls.Config) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg.Clone()
	}
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
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
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
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
	resp, err := s.client.Do(req)
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
