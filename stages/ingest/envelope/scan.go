package envelope

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// scanner reads the JSON of the envelope levels (the envelope, its event,
// labels and metadata objects) straight from the request body, without
// reflection. Positions are byte offsets into the whole body, so that
// syntax errors point where the client can look. The event's data is not
// walked here: extent finds its end and json.Compact validates it.
type scanner struct {
	buf []byte
	pos int
}

// syntaxError is a JSON syntax error at a body offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.off) + ": " + e.msg
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace skips white space and reports whether it crossed a newline.
func (s *scanner) skipSpace() (newline bool) {
	for s.pos < len(s.buf) && isSpace(s.buf[s.pos]) {
		newline = newline || s.buf[s.pos] == '\n'
		s.pos++
	}
	return newline
}

// atEnd skips white space and reports whether the input is exhausted.
func (s *scanner) atEnd() bool {
	s.skipSpace()
	return s.pos == len(s.buf)
}

// peek skips white space and returns the next byte, or 0 at the end (a
// NUL byte in the input also reads as 0: use atEnd to tell the end).
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos == len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

func (s *scanner) errorf(msg string) error {
	if s.pos >= len(s.buf) {
		return &syntaxError{s.pos, "unexpected end of input"}
	}
	return &syntaxError{s.pos, msg + ", found " + strconv.QuoteRune(rune(s.buf[s.pos]))}
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.buf[s.pos:], []byte("null")) {
		s.pos += len("null")
		return true
	}
	return false
}

// member advances to the next member of the object whose '{' is already
// consumed and returns its key, positioned at the value. first says
// whether no member has been read yet. At the closing '}' it consumes it
// and returns ok false. The key may alias the body.
func (s *scanner) member(first bool) (key []byte, ok bool, err error) {
	c := s.peek()
	if c == '}' {
		s.pos++
		return nil, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, s.errorf("expected ',' or '}'")
		}
		s.pos++
		c = s.peek()
	}
	if c != '"' {
		return nil, false, s.errorf("expected a string key")
	}
	key, err = s.strBytes()
	if err != nil {
		return nil, false, err
	}
	if s.peek() != ':' {
		return nil, false, s.errorf("expected ':' after a key")
	}
	s.pos++
	s.skipSpace()
	return key, true, nil
}

// str reads a JSON string; the next byte must be '"'.
func (s *scanner) str() (string, error) {
	b, err := s.strBytes()
	return string(b), err
}

// strBytes reads a JSON string and returns its decoded bytes, which alias
// the body unless the string has escapes. Strings must be valid UTF-8.
func (s *scanner) strBytes() ([]byte, error) {
	start := s.pos
	slow := false
	ascii := true
	for i := start + 1; i < len(s.buf); i++ {
		switch c := s.buf[i]; {
		case c == '"':
			s.pos = i + 1
			raw := s.buf[start+1 : i]
			if slow {
				return s.unescape(start)
			}
			if !ascii && !utf8.Valid(raw) {
				return nil, &syntaxError{start, "invalid UTF-8 in string"}
			}
			return raw, nil
		case c == '\\':
			slow = true
			i++
		case c < 0x20:
			slow = true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	s.pos = len(s.buf)
	return nil, &syntaxError{start, "unterminated string"}
}

// unescape decodes the string literal from start to s.pos with
// encoding/json, which checks escapes and control characters.
func (s *scanner) unescape(start int) ([]byte, error) {
	lit := s.buf[start:s.pos]
	if !utf8.Valid(lit) {
		return nil, &syntaxError{start, "invalid UTF-8 in string"}
	}
	var out string
	if err := json.Unmarshal(lit, &out); err != nil {
		return nil, &syntaxError{start, "invalid string literal"}
	}
	return []byte(out), nil
}

// extentStop says why extent found no end.
type extentStop uint8

const (
	extentOK         extentStop = iota
	extentTooDeep               // nesting passed maxDepth
	extentTooLong               // longer than maxLen
	extentUnfinished            // the input ended first
)

// extent returns the end (exclusive) of the object or array that starts at
// buf[start]. It walks brackets and strings only; the caller validates the
// content. It stops early when the nesting passes maxDepth (buf[start]
// being depth 1) or the value would be longer than maxLen.
func extent(buf []byte, start, maxDepth, maxLen int) (int, extentStop) {
	stop := len(buf)
	if maxLen < stop-start {
		stop = start + maxLen
	}
	depth := 0
	for i := start; i < stop; i++ {
		switch buf[i] {
		case '{', '[':
			depth++
			if depth > maxDepth {
				return -1, extentTooDeep
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, extentOK
			}
		case '"':
			i = stringEnd(buf, i+1, stop)
		}
	}
	if stop < len(buf) {
		return -1, extentTooLong
	}
	return -1, extentUnfinished
}

// stringEnd returns the index of the '"' closing the string whose content
// starts at i, or stop when there is none before stop.
func stringEnd(buf []byte, i, stop int) int {
	for ; i < stop; i++ {
		switch buf[i] {
		case '"':
			return i
		case '\\':
			i++
		}
	}
	return stop
}
