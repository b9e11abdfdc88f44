package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hookpipe/hookpipe/stages/ingest/envelope"
)

// ErrUnsupportedEncoding is wrapped by the error for a Content-Encoding
// other than identity or gzip (HTTP 415).
var ErrUnsupportedEncoding = errors.New("unsupported Content-Encoding")

// bodyEncoding returns the request's Content-Encoding: "" (none or
// identity) or "gzip"; anything else, several codings included, is an
// error wrapping ErrUnsupportedEncoding.
func bodyEncoding(h http.Header) (string, error) {
	vals := h.Values("Content-Encoding")
	enc := strings.ToLower(strings.TrimSpace(strings.Join(vals, ",")))
	switch enc {
	case "", "identity":
		return "", nil
	case "gzip", "x-gzip":
		return "gzip", nil
	}
	return "", fmt.Errorf("%w %q: send the body uncompressed or with Content-Encoding: gzip", ErrUnsupportedEncoding, enc)
}

// gunzip decompresses body, at most limit bytes of output: a larger
// output (such as a zip bomb) stops being read at limit+1 bytes and is
// the same 413 error as an uncompressed body over the limit.
func gunzip(body []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("the body is not valid gzip (Content-Encoding: gzip): %w", err)
	}
	defer zr.Close()
	var out bytes.Buffer
	n, err := out.ReadFrom(io.LimitReader(zr, limit+1))
	switch {
	case n > limit:
		return nil, inflatedTooLarge(limit)
	case err != nil:
		return nil, fmt.Errorf("the body is not valid gzip (Content-Encoding: gzip): %w", err)
	}
	return out.Bytes(), nil
}

// errReadBody is answered when the body cannot be read (the client went
// away or sent a broken chunked encoding).
var errReadBody = errors.New("could not read the request body")

// readBody reads the whole body, at most Limits.MaxBodyBytes of it, both
// as sent and, with Content-Encoding: gzip, after decompression.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	enc, err := bodyEncoding(r.Header)
	if err != nil {
		return nil, err
	}
	limit := h.lim.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, envelope.BodyTooLarge(limit)
	}
	size := int64(bytes.MinRead)
	if r.ContentLength > 0 {
		size += r.ContentLength
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, envelope.BodyTooLarge(limit)
	case err != nil:
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "ingest: reading the body failed", slog.Any("error", err))
		return nil, errReadBody
	}
	if enc == "gzip" {
		return gunzip(buf.Bytes(), limit)
	}
	return buf.Bytes(), nil
}

// statusOf maps a Decode or readBody error to its HTTP status.
func statusOf(err error) int {
	if errors.Is(err, envelope.ErrBodyTooLarge) || errors.Is(err, envelope.ErrTooManyEvents) {
		return http.StatusRequestEntityTooLarge
	}
	if errors.Is(err, ErrUnsupportedEncoding) {
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

// inflatedTooLarge is the 413 error of a gzip body over limit once
// decompressed; it wraps envelope.ErrBodyTooLarge.
type inflatedTooLarge int64

func (e inflatedTooLarge) Error() string {
	return fmt.Sprintf("request body larger than %d bytes after gzip decompression", int64(e))
}

func (e inflatedTooLarge) Unwrap() error { return envelope.ErrBodyTooLarge }
