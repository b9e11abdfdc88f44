package devreceiver

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/signature"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultMaxBodyBytes is the default cap on a request body (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Receiver. The zero value is a receiver that accepts
// every POST without verifying signatures and prints nothing.
type Options struct {
	// Secret is the connector's signature secret. When set, every request
	// must carry a valid signature of Scheme or is answered 401. Default:
	// empty, signatures are not verified.
	Secret string
	// Secrets are more secrets accepted beside Secret, for a receiver
	// that rotates keys: a request signed with any of them verifies.
	Secrets []string
	// Scheme is "dt-jwt" (X-Dt-Signature; the default when empty) or
	// "standard-webhooks" (webhook-id, webhook-timestamp,
	// webhook-signature; secrets in the whsec_ form).
	Scheme string
	// FailureRate is the share of requests, between 0 and 1, answered 503
	// (chosen at random, after signature verification). Default: 0.
	FailureRate float64
	// Latency delays every answer to a POST by this long; the wait ends
	// early, without an answer, if the request's context ends. Default: 0.
	Latency time.Duration
	// MaxBodyBytes caps the request body; a larger body is answered 413.
	// Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Out receives one line per request. Writes are serialised so lines
	// never interleave. Default: nil, output is discarded.
	Out io.Writer
	// Now is the clock used to check tokens and stamp lines. Default: nil,
	// time.Now.
	Now func() time.Time
	// OnEvent, when set, is called for each accepted (2xx) request before
	// the answer is written, with the event's eventId ("" when the body is
	// not a parsable event) and the raw body, which the callee may keep. It
	// may be called from many goroutines at once. Default: nil.
	OnEvent func(eventID string, body []byte)
}

// Stats are a Receiver's counters since it was created.
type Stats struct {
	// Received counts POST requests.
	Received int64
	// Accepted counts requests answered 2xx.
	Accepted int64
	// Verified counts requests whose signature verified.
	Verified int64
	// Rejected counts requests answered 401 (signature) or 413 (body too
	// large).
	Rejected int64
	// Failed counts requests answered 503 by the failure-rate roll.
	Failed int64
}

// Receiver is the development webhook receiver. It implements http.Handler
// and is safe for concurrent use; create it with New.
type Receiver struct {
	opts     Options
	verifier signature.Verifier // nil: signatures are not verified

	mu sync.Mutex // serialises writes to opts.Out

	received, accepted, verified, rejected, failed atomic.Int64
}

// New returns a Receiver configured by opts, with defaults filled in. It
// panics when opts.Check fails: check options from users first.
func New(opts Options) *Receiver {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v, err := opts.verifier()
	if err != nil {
		panic("devreceiver: " + err.Error())
	}
	return &Receiver{opts: opts, verifier: v}
}

// Stats returns a snapshot of the counters.
func (r *Receiver) Stats() Stats {
	return Stats{
		Received: r.received.Load(),
		Accepted: r.accepted.Load(),
		Verified: r.verified.Load(),
		Rejected: r.rejected.Load(),
		Failed:   r.failed.Load(),
	}
}

// ServeHTTP answers a webhook request: 405 for anything but POST, 413 for a
// body over the cap, 401 for a missing or invalid signature when a secret is
// set, 503 on the failure-rate roll, and 204 otherwise.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.received.Add(1)
	now := r.opts.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBodyBytes))
	if err != nil {
		r.refuseBody(w, now, err)
		return
	}
	if !pipeline.Sleep(req.Context(), r.opts.Latency) {
		return // the client is gone; nobody to answer
	}
	state, err := r.verify(req.Header, body, now)
	if err != nil {
		r.rejected.Add(1)
		r.println(formatLine(now, "REJECTED", err.Error(), body))
		http.Error(w, reason(err), http.StatusUnauthorized)
		return
	}
	if r.opts.FailureRate > 0 && rand.Float64() < r.opts.FailureRate {
		r.failed.Add(1)
		r.println(formatLine(now, "FAIL(503)", state, body))
		http.Error(w, "injected failure", http.StatusServiceUnavailable)
		return
	}
	r.accept(w, now, state, body)
}

// accept records and answers an accepted request.
func (r *Receiver) accept(w http.ResponseWriter, now time.Time, state string, body []byte) {
	r.accepted.Add(1)
	ev, ok := parse(body)
	if r.opts.OnEvent != nil {
		id := ""
		if ok {
			id = ev.Event.EventID
		}
		r.opts.OnEvent(id, body)
	}
	r.println(formatParsed(now, "OK", state, ev, ok, len(body)))
	w.WriteHeader(http.StatusNoContent)
}

// refuseBody answers a body that could not be read: 413 when over the cap,
// 400 when the read failed.
func (r *Receiver) refuseBody(w http.ResponseWriter, now time.Time, err error) {
	r.rejected.Add(1)
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		r.println(now.UTC().Format(time.RFC3339) + "  REJECTED  body over " +
			strconv.FormatInt(mbe.Limit, 10) + " bytes")
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	r.println(now.UTC().Format(time.RFC3339) + "  REJECTED  reading body: " + err.Error())
	http.Error(w, "cannot read body", http.StatusBadRequest)
}

// println writes one line to Out, holding the lock so lines never
// interleave.
func (r *Receiver) println(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A dev console that cannot be written to is not worth failing a
	// request for; the counters still record the request.
	_, _ = io.WriteString(r.opts.Out, line+"\n")
}
