package ingest

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func postEncoded(h http.Handler, body []byte, encoding string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
	r.Header.Set("Content-Encoding", encoding)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// A gzip body is decompressed and stored like a plain one; the size limit
// applies after decompression, so a small body that inflates past it (a
// zip bomb) is 413 and nothing is written; a broken gzip stream is 400
// and any other encoding 415, each with a message that says so.
func TestHandlerContentEncoding(t *testing.T) {
	_, cl := newCluster(t)
	h := NewHandler(Config{Client: cl, Topic: testTopic, Limits: Limits{MaxBodyBytes: 64 << 10}})

	w := postEncoded(h, gzipped(t, minimal), "gzip")
	if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"accepted":1`) {
		t.Errorf("gzip: %d %s, want 202", w.Code, w.Body)
	}
	if n := storedCount(t, cl); n != 1 {
		t.Fatalf("stored %d events after one gzip request, want 1", n)
	}

	bomb := gzipped(t, "["+strings.Repeat(" ", 10<<20)+"]") // 10 MiB of spaces, about 10 KiB sent
	if len(bomb) > 64<<10 {
		t.Fatalf("the bomb is %d bytes compressed, want it under the limit", len(bomb))
	}
	checkAnswer(t, postEncoded(h, bomb, "gzip"), http.StatusRequestEntityTooLarge,
		`{"error":"request body larger than 65536 bytes after gzip decompression"}`)
	checkAnswer(t, postEncoded(h, []byte(minimal), "gzip"), http.StatusBadRequest,
		`{"error":"the body is not valid gzip (Content-Encoding: gzip): gzip: invalid header"}`)
	checkAnswer(t, postEncoded(h, []byte(minimal), "br"), http.StatusUnsupportedMediaType,
		`{"error":"unsupported Content-Encoding \"br\": send the body uncompressed or with Content-Encoding: gzip"}`)
	checkAnswer(t, postEncoded(h, gzipped(t, string(gzipped(t, minimal))), "gzip, gzip"), http.StatusUnsupportedMediaType,
		`{"error":"unsupported Content-Encoding \"gzip, gzip\": send the body uncompressed or with Content-Encoding: gzip"}`)
	if w := postEncoded(h, []byte(minimal), "identity"); w.Code != http.StatusAccepted {
		t.Errorf("identity: %d %s, want 202", w.Code, w.Body)
	}
	if n := storedCount(t, cl); n != 2 {
		t.Errorf("stored %d events, want 2: the refused requests wrote nothing", n)
	}
}
