package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// TimestampLayout is the layout of the timestamps ingest assigns: RFC 3339
// in UTC with microseconds, as DT writes them.
const TimestampLayout = "2006-01-02T15:04:05.000000Z"

// errShape is returned for a body that is neither an object, an array nor
// NDJSON.
var errShape = errors.New("body must be an envelope object, a JSON array of envelopes, or NDJSON")

// Decode validates a request body and returns its envelopes, complete as
// they are stored on the events topic: eventId and timestamp assigned when
// absent, metadata.deviceId and projectId derived from targetName, data
// compact. A request is all or nothing: on any error Decode returns no
// envelopes.
//
// The package doc gives the grammar Decode accepts. Validation is strict,
// so that typos surface at once; a timestamp in UTC ("...Z", with a '.'
// fraction of up to 9 digits) is kept byte for byte, any other converted
// to UTC (RFC3339Nano).
//
// An invalid envelope yields an *ItemError naming the first failing item
// and field. Over Limits, Decode returns errors wrapping ErrBodyTooLarge or
// ErrTooManyEvents; an empty request, ErrNoEvents. Every error describes
// the request, so its text is safe to send to the client. The envelopes
// share no memory with body. Decode is safe for concurrent use.
func Decode(body []byte, contentType string, lim Limits, now time.Time) ([]*pipeline.Envelope, error) {
	lim = lim.WithDefaults()
	if int64(len(body)) > lim.MaxBodyBytes {
		return nil, BodyTooLarge(lim.MaxBodyBytes)
	}
	d := decoder{body: body, lim: lim, now: now}
	s := scanner{buf: body}
	if s.atEnd() {
		return nil, ErrNoEvents
	}
	var err error
	switch s.peek() {
	case '[':
		if isNDJSON(contentType) {
			return nil, errors.New("an application/x-ndjson body holds one envelope per line, not an array")
		}
		err = d.array(&s)
	case '{':
		err = d.lines(&s)
	default:
		return nil, errShape
	}
	if err != nil {
		return nil, err
	}
	if len(d.out) == 0 {
		return nil, ErrNoEvents
	}
	return d.out, nil
}

// isNDJSON reports whether the media type is NDJSON's.
func isNDJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/x-ndjson") || strings.EqualFold(mt, "application/ndjson")
}

// decoder holds the state of one Decode call.
type decoder struct {
	body  []byte
	lim   Limits
	now   time.Time
	stamp string // now in TimestampLayout, formatted on first use
	idx   int    // the item being decoded
	out   []*pipeline.Envelope
	block []pipeline.Envelope // envelopes are carved from blocks
	arena bytes.Buffer        // compact data of every envelope
}

// fail returns an *ItemError for the current item.
func (d *decoder) fail(field, msg string) error {
	return &ItemError{Index: d.idx, Field: field, Msg: msg}
}

// failSyntax returns an *ItemError for a syntax or scanner error.
func (d *decoder) failSyntax(field string, err error) error {
	return d.fail(field, err.Error())
}

// array decodes a JSON array of envelopes; s is at its '['.
func (d *decoder) array(s *scanner) error {
	s.pos++
	if s.peek() == ']' {
		s.pos++
	} else {
		if err := d.arrayItems(s); err != nil {
			return err
		}
	}
	if !s.atEnd() {
		return s.errorf("unexpected data after the array")
	}
	return nil
}

// arrayItems decodes the items of a non-empty array up to its ']'.
func (d *decoder) arrayItems(s *scanner) error {
	for {
		if err := d.item(s); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
			s.skipSpace()
		case ']':
			s.pos++
			return nil
		default:
			d.idx = len(d.out)
			return d.failSyntax("", s.errorf("expected ',' or ']' after an item"))
		}
	}
}

// lines decodes envelopes separated by newlines; s is at the first '{'.
func (d *decoder) lines(s *scanner) error {
	for {
		if err := d.item(s); err != nil {
			return err
		}
		newline := s.skipSpace()
		if s.pos == len(s.buf) {
			return nil
		}
		if !newline {
			d.idx = len(d.out)
			if s.buf[s.pos] != '{' {
				return d.failSyntax("", s.errorf("unexpected data after an envelope"))
			}
			return d.fail("", "envelopes must be separated by a newline")
		}
	}
}

// item decodes one envelope at s.pos and appends it to d.out.
func (d *decoder) item(s *scanner) error {
	d.idx = len(d.out)
	if d.idx >= d.lim.MaxEvents {
		return tooManyEvents(d.lim.MaxEvents)
	}
	start := s.pos
	if start == len(s.buf) {
		return d.fail("", "unexpected end of input")
	}
	if s.buf[start] != '{' {
		return d.fail("", "must be a JSON object")
	}
	end, stop := extent(s.buf, start, d.lim.MaxDepth, d.lim.MaxEventBytes)
	switch stop {
	case extentTooDeep:
		return d.fail("", fmt.Sprintf("nested deeper than %d levels", d.lim.MaxDepth))
	case extentTooLong:
		return d.fail("", fmt.Sprintf("larger than %d bytes", d.lim.MaxEventBytes))
	case extentUnfinished:
		return d.failSyntax("", &syntaxError{len(s.buf), "unexpected end of input"})
	}
	env := d.newEnvelope()
	sub := scanner{buf: s.buf[:end], pos: start}
	if err := d.envelope(&sub, env); err != nil {
		return err
	}
	if !sub.atEnd() {
		return d.failSyntax("", sub.errorf("unexpected data after the envelope"))
	}
	d.out = append(d.out, env)
	s.pos = end
	return nil
}

// newEnvelope returns a zero envelope carved from the current block,
// allocating blocks of growing size so that a batch costs few allocations.
func (d *decoder) newEnvelope() *pipeline.Envelope {
	if len(d.block) == 0 {
		n := min(max(2*cap(d.out), 1), 256)
		d.block = make([]pipeline.Envelope, n)
	}
	env := &d.block[0]
	d.block = d.block[1:]
	return env
}

// timestamp returns now in TimestampLayout.
func (d *decoder) timestamp() string {
	if d.stamp == "" {
		d.stamp = d.now.UTC().Format(TimestampLayout)
	}
	return d.stamp
}

// compact validates data and returns it compact, in d.arena, which is
// sized once for the whole body.
func (d *decoder) compact(data []byte) (json.RawMessage, error) {
	if d.arena.Cap() == 0 {
		d.arena.Grow(len(d.body))
	}
	from := d.arena.Len()
	if err := json.Compact(&d.arena, data); err != nil {
		d.arena.Truncate(from)
		return nil, err
	}
	out := d.arena.Bytes()[from:]
	return out[:len(out):len(out)], nil
}

// unlimited stands for no bound in extent.
const unlimited = math.MaxInt
