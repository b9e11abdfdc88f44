package deliver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// BenchmarkSend measures one signed delivery through Sender.Send to a
// loopback endpoint that answers 204, 16 at a time, over HTTP/1.1: the
// sender's own allocations plus net/http's client and server.
func BenchmarkSend(b *testing.B) { benchmarkSend(b, false) }

// BenchmarkSendH1 is BenchmarkSend through the h1Pool that a deliver
// stage gives HTTP/1.1 connectors.
func BenchmarkSendH1(b *testing.B) { benchmarkSend(b, true) }

func benchmarkSend(b *testing.B, h1 bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, err := url.Parse(srv.URL + "/hook")
	if err != nil {
		b.Fatal(err)
	}
	c := &pipeline.Connector{
		Name: "bench", URL: u, SignatureSecret: "bench-secret", Timeout: pipeline.DefaultTimeout,
		MaxInFlight: 16, Headers: map[string]string{"X-Api-Key": "k3y"},
	}
	s := NewSender(c, "bench", nil)
	if h1 {
		s.useH1(NewTransports().H1(c), c.URL)
	}
	body := []byte(`{"event":{"eventId":"b1-2","targetName":"projects/p/devices/d","eventType":"temperature",` +
		`"data":{"temperature":{"value":21.5,"updateTime":"2026-11-25T10:00:00Z"}}},"labels":{"name":"x"}}`)
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r := s.Send(context.Background(), body); !r.OK {
				b.Errorf("send: %+v", r)
				return
			}
		}
	})
}
