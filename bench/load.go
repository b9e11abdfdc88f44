package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// loadConfig configures one load generator run against the ingest API.
type loadConfig struct {
	URL     string    // the ingest endpoint, http://host:port/v1/events
	First   int       // sequence number of the first event
	Events  int       // how many events to send
	Batch   int       // events per request
	Posters int       // concurrent requests
	Rate    float64   // events per second; 0: as fast as ingest answers
	T0      time.Time // the run's start; send times count from it
}

// loadResult is what the generator saw.
type loadResult struct {
	Accepted int           // events answered 202
	Failed   int           // events whose request failed three times
	Elapsed  time.Duration // first request to last answer
}

// Rate is accepted events per second of Elapsed.
func (l loadResult) Rate() float64 { return rate(l.Accepted, l.Elapsed) }

type batch struct {
	first, n int
	at       int64 // scheduled send time, ns since T0; -1: now
}

// runLoad sends cfg.Events events in NDJSON batches and returns when every
// batch was answered, failed three times, or ctx ended.
func runLoad(ctx context.Context, client *http.Client, cfg loadConfig) loadResult {
	ch := make(chan batch, 1024)
	start := time.Now()
	go func() {
		defer close(ch)
		schedule(ctx, cfg, ch)
	}()
	var accepted, failed atomic.Int64
	var wg sync.WaitGroup
	for range max(cfg.Posters, 1) {
		wg.Go(func() {
			var buf bytes.Buffer
			for b := range ch {
				if post(ctx, client, cfg, b, &buf) {
					accepted.Add(int64(b.n))
				} else {
					failed.Add(int64(b.n))
				}
			}
		})
	}
	wg.Wait()
	return loadResult{Accepted: int(accepted.Load()), Failed: int(failed.Load()), Elapsed: time.Since(start)}
}

// schedule emits the batches: at once, or on the rate's schedule, where
// batch k is due at k*Batch/Rate after T0's schedule start.
func schedule(ctx context.Context, cfg loadConfig, ch chan<- batch) {
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(cfg.Batch) / cfg.Rate * float64(time.Second))
	}
	base := time.Since(cfg.T0)
	for k, seq := 0, cfg.First; seq < cfg.First+cfg.Events; k++ {
		b := batch{first: seq, n: min(cfg.Batch, cfg.First+cfg.Events-seq), at: -1}
		if interval > 0 {
			b.at = int64(base + time.Duration(k)*interval)
			if wait := time.Duration(b.at) - time.Since(cfg.T0); wait > 0 && !pipeline.Sleep(ctx, wait) {
				return
			}
		}
		select {
		case ch <- b:
		case <-ctx.Done():
			return
		}
		seq += b.n
	}
}

// post sends one batch, retrying twice on failure; it reports whether the
// batch was accepted.
func post(ctx context.Context, client *http.Client, cfg loadConfig, b batch, buf *bytes.Buffer) bool {
	sent := b.at
	if sent < 0 {
		sent = int64(time.Since(cfg.T0))
	}
	buf.Reset()
	for i := range b.n {
		buf.Write(appendEnvelope(buf.AvailableBuffer(), b.first+i, sent))
	}
	for attempt := range 3 {
		if attempt > 0 && !pipeline.Sleep(ctx, time.Duration(attempt)*200*time.Millisecond) {
			return false
		}
		if postOnce(ctx, client, cfg.URL, buf.Bytes()) == nil {
			return true
		}
	}
	return false
}

func postOnce(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// devices is how many distinct devices the load spreads over, so that
// events spread over every partition.
const devices = 1000

// appendEnvelope appends the NDJSON line of event seq, sent at sent.
func appendEnvelope(dst []byte, seq int, sent int64) []byte {
	dst = append(dst, `{"event":{"eventId":"`...)
	dst = eventID(dst, seq, sent)
	dst = append(dst, `","targetName":"projects/bench-project/devices/`...)
	dst = appendDevice(dst, seq)
	dst = append(dst, `","eventType":"temperature","data":{"temperature":{"value":`...)
	dst = strconv.AppendFloat(dst, 2+float64(seq%400)/100, 'f', 2, 64)
	dst = append(dst, `,"updateTime":"2026-11-25T10:00:00.000000Z"}}},`...)
	dst = append(dst, `"labels":{"name":"Cold room sensor","room":"cold-room-3","site":"depot"},`...)
	dst = append(dst, `"metadata":{"deviceType":"temperature","productNumber":"102081"}}`...)
	return append(dst, '\n')
}

func appendDevice(dst []byte, seq int) []byte {
	dst = append(dst, "sensor-"...)
	return strconv.AppendInt(dst, int64(seq%devices), 10)
}

// webhookBody returns the body the pipeline would deliver for event seq
// sent at sent, rendered by the pipeline's own renderer.
func webhookBody(r *pipeline.Renderer, seq int, sent int64) []byte {
	dev := string(appendDevice(nil, seq))
	env := pipeline.Envelope{
		Event: pipeline.Event{
			EventID:    string(eventID(nil, seq, sent)),
			TargetName: "projects/bench-project/devices/" + dev,
			EventType:  "temperature",
			Data:       []byte(`{"temperature":{"value":21.50,"updateTime":"2026-11-25T10:00:00.000000Z"}}`),
			Timestamp:  time.Now().UTC().Format(time.RFC3339Nano),
		},
		Labels:   map[string]string{"name": "Cold room sensor", "room": "cold-room-3", "site": "depot"},
		Metadata: pipeline.Metadata{DeviceID: dev, ProjectID: "bench-project", DeviceType: "temperature", ProductNumber: "102081"},
	}
	return r.Append(nil, &env)
}

// rate is n per second of d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
