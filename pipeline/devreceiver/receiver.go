package devreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
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

// maxDataLen is how much of an event's compact data JSON a line shows.
const maxDataLen = 80

// event is the part of a webhook body a line shows.
type event struct {
	Event struct {
		EventID    string          `json:"eventId"`
		TargetName string          `json:"targetName"`
		EventType  string          `json:"eventType"`
		Data       json.RawMessage `json:"data"`
	} `json:"event"`
	Labels   json.RawMessage `json:"labels"`
	Metadata struct {
		DeviceID string `json:"deviceId"`
	} `json:"metadata"`
}

// parse decodes body as a webhook body.
func parse(body []byte) (event, bool) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return event{}, false
	}
	return ev, true
}

// formatLine renders the line for body with the given status and state.
func formatLine(now time.Time, status, state string, body []byte) string {
	ev, ok := parse(body)
	return formatParsed(now, status, state, ev, ok, len(body))
}

// formatParsed renders one line: time, status, signature state, then the
// event (type, device, id, data summary, labels) or a note that the body
// did not parse.
func formatParsed(now time.Time, status, state string, ev event, ok bool, n int) string {
	fields := []string{now.UTC().Format(time.RFC3339), status, state}
	if !ok {
		fields = append(fields, "unparsable body ("+strconv.Itoa(n)+" bytes)")
		return strings.Join(fields, "  ")
	}
	e := &ev.Event
	fields = append(fields,
		orDash(e.EventType),
		orDash(deviceID(ev)),
		"eventId="+orDash(e.EventID),
		summary(e.EventType, e.Data),
		"labels="+compact(ev.Labels, "{}"),
	)
	return strings.Join(fields, "  ")
}

// deviceID is metadata.deviceId, or the last segment of targetName.
func deviceID(ev event) string {
	if ev.Metadata.DeviceID != "" {
		return ev.Metadata.DeviceID
	}
	_, id, _ := strings.Cut(ev.Event.TargetName, "/devices/")
	return id
}

// summaryKeys lists the fields of data.<eventType> worth a line for the
// measurement types; nil for the others.
func summaryKeys(eventType string) []string {
	switch eventType {
	case "temperature":
		return []string{"value"}
	case "humidity":
		return []string{"relativeHumidity", "temperature"}
	case "co2":
		return []string{"ppm"}
	case "pressure":
		return []string{"pascal"}
	}
	return nil
}

// summary renders the measured value(s) of a measurement event, or the
// compact data JSON truncated to maxDataLen characters.
func summary(eventType string, data json.RawMessage) string {
	if keys := summaryKeys(eventType); keys != nil {
		var outer map[string]map[string]json.RawMessage
		if json.Unmarshal(data, &outer) == nil && outer[eventType] != nil {
			var parts []string
			for _, k := range keys {
				if v, ok := outer[eventType][k]; ok {
					parts = append(parts, k+"="+string(v))
				}
			}
			if len(parts) > 0 {
				return strings.Join(parts, "  ")
			}
		}
	}
	return "data=" + truncate(compact(data, "null"), maxDataLen)
}

// compact returns raw as compact JSON, or empty when raw is absent.
func compact(raw json.RawMessage, empty string) string {
	if len(raw) == 0 {
		return empty
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// orDash stands in "-" for an empty field.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
