package deliver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strconv"
	"syscall"
)

// maxAnswerHead bounds the bytes of an answer's status line and headers,
// as Go's transport does by default (MaxResponseHeaderBytes).
const maxAnswerHead = 1 << 20

// h1Answer is what a send keeps of an answer.
type h1Answer struct {
	status     int
	statusText string // as http.Response.Status: "503 Service Unavailable"
	retryAfter string // the first Retry-After header
	reusable   bool   // the body was read whole and the connection may carry another request
}

// readAnswer reads one final answer from br: interim (1xx) answers are
// skipped, the body is read and discarded up to maxResponseDrain. Once a
// status line was read the answer stands, whatever happens to its body
// (the body is read only to reuse the connection, which is then not
// reusable). On a reused connection, an end of the stream before any byte
// of an answer is errStale.
func readAnswer(br *bufio.Reader, reused bool) (h1Answer, error) {
	for first := true; ; first = false {
		a, framing, err := readHead(br, reused && first)
		if err != nil {
			return h1Answer{}, err
		}
		switch {
		case a.status == 101:
			return h1Answer{}, errors.New("unexpected 101 Switching Protocols")
		case a.status >= 100 && a.status < 200:
			continue // interim: the final answer follows
		case a.status == 204 || a.status == 304:
			return a, nil
		}
		a.reusable = a.reusable && discardBody(br, framing)
		return a, nil
	}
}

// framing is how an answer's body ends: a length, chunked, or the end of
// the connection (length -1, not chunked).
type framing struct {
	length  int64
	chunked bool
}

// readHead reads a status line and the headers after it.
func readHead(br *bufio.Reader, staleIfEmpty bool) (a h1Answer, f framing, err error) {
	line, n, err := readLine(br, 0)
	if err != nil {
		if staleIfEmpty && n == 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return a, f, errStale
		}
		return a, f, err
	}
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || len(proto) != 8 {
		return a, f, fmt.Errorf("malformed HTTP response %q", line)
	}
	rest = bytes.TrimLeft(rest, " ")
	code, err := strconv.Atoi(string(rest[:min(3, len(rest))]))
	if err != nil || len(rest) < 3 || code < 100 || (len(rest) > 3 && rest[3] != ' ') {
		return a, f, fmt.Errorf("malformed HTTP status code %q", rest)
	}
	a.status, a.reusable, f.length = code, proto[7] == '1', -1
	if code < 200 || code >= 300 {
		a.statusText = string(rest)
	}
	total := n
	for {
		line, n, err = readLine(br, total)
		if err != nil {
			return a, f, err
		}
		total += n
		if len(line) == 0 {
			return a, f, nil
		}
		if err := header(line, &a, &f); err != nil {
			return a, f, err
		}
	}
}

// header applies one header line to a and f.
func header(line []byte, a *h1Answer, f *framing) error {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return nil // obsolete line folding or junk: no header we read
	}
	value = bytes.Trim(value, " \t")
	switch {
	case asciiEqualFold(name, "content-length"):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 || (f.length >= 0 && f.length != n) {
			return fmt.Errorf("bad Content-Length %q", value)
		}
		f.length = n
	case asciiEqualFold(name, "transfer-encoding"):
		if !asciiEqualFold(value, "chunked") {
			return fmt.Errorf("unsupported transfer encoding %q", value)
		}
		f.chunked = true
	case asciiEqualFold(name, "connection"):
		for _, tok := range bytes.Split(value, []byte(",")) {
			if asciiEqualFold(bytes.Trim(tok, " \t"), "close") {
				a.reusable = false
			}
		}
	case asciiEqualFold(name, "retry-after"):
		if a.statusText != "" && a.retryAfter == "" {
			a.retryAfter = string(value)
		}
	}
	return nil
}

// readLine reads one line without its CR LF; n counts the bytes read. A
// line longer than the buffer is read whole but only its start returned
// (no header hookpipe reads is that long); the head, total bytes before
// it, may not pass maxAnswerHead.
func readLine(br *bufio.Reader, total int) (line []byte, n int, err error) {
	for {
		part, err := br.ReadSlice('\n')
		if n == 0 {
			line = part
		}
		n += len(part)
		if total+n > maxAnswerHead {
			return nil, n, errors.New("answer headers too large")
		}
		if err == bufio.ErrBufferFull {
			line = append([]byte(nil), line...) // the buffer is reused by the next read
			continue
		}
		if err != nil {
			return nil, n, err
		}
		return bytes.TrimRight(line, "\r\n"), n, nil
	}
}

// discardBody reads and discards a body of f's framing, up to
// maxResponseDrain; it reports whether the connection may carry another
// request (the body ended within the bound, without error).
func discardBody(br *bufio.Reader, f framing) bool {
	switch {
	case f.chunked:
		n, err := io.Copy(io.Discard, io.LimitReader(httputil.NewChunkedReader(br), maxResponseDrain+1))
		if err != nil || n > maxResponseDrain {
			return false
		}
		for { // trailers, up to the empty line
			line, _, err := readLine(br, 0)
			if err != nil {
				return false
			}
			if len(line) == 0 {
				return true
			}
		}
	case f.length > maxResponseDrain:
		_, _ = br.Discard(maxResponseDrain)
		return false
	case f.length >= 0:
		_, err := br.Discard(int(f.length))
		return err == nil
	default: // to the end of the connection
		_, _ = io.Copy(io.Discard, io.LimitReader(br, maxResponseDrain))
		return false
	}
}

// asciiEqualFold reports whether b is s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
