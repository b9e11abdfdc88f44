package envelope

import (
	"errors"
	"fmt"
	"strconv"
)

// Default limits, used for the zero fields of a Limits.
const (
	// DefaultMaxBodyBytes caps one request body: 4 MiB.
	DefaultMaxBodyBytes = 4 << 20
	// DefaultMaxEvents caps the envelopes of one request: 1000.
	DefaultMaxEvents = 1000
	// DefaultMaxEventBytes caps one envelope as sent, whitespace included:
	// 64 KiB.
	DefaultMaxEventBytes = 64 << 10
	// DefaultMaxDepth caps the JSON nesting of one envelope, the envelope
	// object itself being level 1: 32.
	DefaultMaxDepth = 32
)

// Limits bound what one request may carry. Zero (or negative) fields take
// the defaults.
type Limits struct {
	// MaxBodyBytes caps the request body. Over it, Decode returns an error
	// wrapping ErrBodyTooLarge (HTTP 413). Default DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxEvents caps the envelopes of one request. Over it, Decode returns
	// an error wrapping ErrTooManyEvents (HTTP 413). Default
	// DefaultMaxEvents.
	MaxEvents int
	// MaxEventBytes caps one envelope's encoded size as sent. Over it,
	// Decode returns an *ItemError (HTTP 400). Default DefaultMaxEventBytes.
	MaxEventBytes int
	// MaxDepth caps the JSON nesting depth of one envelope. Over it, Decode
	// returns an *ItemError (HTTP 400). Default DefaultMaxDepth.
	MaxDepth int
}

// WithDefaults returns l with its zero (or negative) fields set to the
// defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxEvents <= 0 {
		l.MaxEvents = DefaultMaxEvents
	}
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = DefaultMaxEventBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Sentinel errors of Decode. Every error Decode returns describes the
// request, never the server, so its text is safe to show to the client.
var (
	// ErrNoEvents is returned for an empty body, an empty array, or a body
	// of blank lines (HTTP 400).
	ErrNoEvents = errors.New("no events")
	// ErrBodyTooLarge is wrapped by the error returned for a body over
	// Limits.MaxBodyBytes (HTTP 413).
	ErrBodyTooLarge = errors.New("request body too large")
	// ErrTooManyEvents is wrapped by the error returned for a request with
	// more than Limits.MaxEvents envelopes (HTTP 413).
	ErrTooManyEvents = errors.New("too many events")
)

// limitError is an error over a request-wide limit: it reads as msg and
// unwraps to its sentinel, so that callers map it with errors.Is.
type limitError struct {
	sentinel error
	msg      string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.sentinel }

// BodyTooLarge returns the error for a body over max bytes, wrapping
// ErrBodyTooLarge: the one Decode returns, for a reader of the body that
// stops at the limit first.
func BodyTooLarge(max int64) error {
	return &limitError{ErrBodyTooLarge, "request body larger than " + strconv.FormatInt(max, 10) + " bytes"}
}

// tooManyEvents is the error for a request with more than max envelopes.
func tooManyEvents(max int) error {
	return &limitError{ErrTooManyEvents, fmt.Sprintf("more than %d events in one request", max)}
}

// ItemError is a validation error of one envelope of a request. Index is
// the envelope's 0-based position in the array or NDJSON stream (0 for a
// single object); Field is the dotted path of the offending field, such as
// "event.eventType" or "labels.room", or empty when the error concerns the
// envelope as a whole (its syntax, size or depth).
type ItemError struct {
	Index int
	Field string
	Msg   string
}

// Error reads like `item 3: event.eventType: unknown event type "tempx"`.
func (e *ItemError) Error() string {
	if e.Field == "" {
		return "item " + strconv.Itoa(e.Index) + ": " + e.Msg
	}
	return "item " + strconv.Itoa(e.Index) + ": " + e.Field + ": " + e.Msg
}
