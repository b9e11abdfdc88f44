package deliver

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// BenchmarkSendRawHTTP1 is BenchmarkSend's signed delivery written by hand
// on one kept-alive connection per goroutine: the request in one write,
// the answer's status line and headers read on the calling goroutine. It
// is not how hookpipe sends (no TLS, no timeouts, no pool); it bounds what
// an HTTP/1.1 client without net/http's per-connection read and write
// goroutines could save per request against BenchmarkSend.
func BenchmarkSendRawHTTP1(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	signer := signature.NewSigner([]byte("bench-secret"))
	body := []byte(`{"event":{"eventId":"b1-2","targetName":"projects/p/devices/d","eventType":"temperature",` +
		`"data":{"temperature":{"value":21.5,"updateTime":"2026-11-25T10:00:00Z"}}},"labels":{"name":"x"}}`)
	head := "POST /hook HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: hookpipe/bench\r\nContent-Type: application/json\r\nX-Api-Key: k3y\r\n"
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		var buf []byte
		for pb.Next() {
			buf = append(buf[:0], head...)
			buf = append(buf, "X-Dt-Signature: "...)
			buf = append(buf, signer.Sign(body, time.Now())...)
			buf = append(buf, "\r\nContent-Length: "...)
			buf = strconv.AppendInt(buf, int64(len(body)), 10)
			buf = append(buf, "\r\n\r\n"...)
			buf = append(buf, body...)
			if _, err := conn.Write(buf); err != nil {
				b.Error(err)
				return
			}
			if err := readRawAnswer(br); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// readRawAnswer reads a 2xx answer without a body (as the benchmark's
// endpoint sends): its status line and headers.
func readRawAnswer(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 2")) {
		return io.ErrUnexpectedEOF
	}
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
}

// reportCPU returns a function that reports the process's CPU time (user
// and system: client and server together) per operation since the call,
// as "cpu-ns/op": steadier than ns/op on a busy machine.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
