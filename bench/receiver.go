package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// recorder counts deliveries of the events 0..n-1 and keeps, for each, the
// latency of its first arrival. It is safe for concurrent use.
type recorder struct {
	t0    time.Time      // the run's monotonic start; eventIds count from it
	lat   []atomic.Int64 // latency+1 in ns of the first arrival; 0: not yet
	got   atomic.Int64   // distinct events arrived
	dups  atomic.Int64   // arrivals of an event already seen
	bad   atomic.Int64   // bodies without a bench eventId
	bytes atomic.Int64   // body bytes of first arrivals
	last  atomic.Int64   // ns since t0 of the latest first arrival
	want  atomic.Int64   // arrivals that complete the run; n until expect
	done  chan struct{}  // closed when want events have arrived
	once  sync.Once
	order *deviceOrder // when set, counts first arrivals out of their device's order
}

func newRecorder(t0 time.Time, n int) *recorder {
	r := &recorder{t0: t0, lat: make([]atomic.Int64, n), done: make(chan struct{})}
	r.expect(n)
	return r
}

// expect lowers the arrivals that complete the run to n, e.g. to the
// events ingest accepted when some requests failed.
func (r *recorder) expect(n int) {
	r.want.Store(int64(n))
	if r.got.Load() >= int64(n) {
		r.once.Do(func() { close(r.done) })
	}
}

// record notes the arrival of body at now (ns since t0).
func (r *recorder) record(body []byte, now int64) { r.recordAt(0, body, now) }

// recordAt notes the arrival of body at now as event base+seq, so that one
// recorder can count the same events arriving for several connectors.
func (r *recorder) recordAt(base int, body []byte, now int64) {
	seq, sent, ok := parseEventID(body)
	seq += base
	if !ok || seq < 0 || seq >= len(r.lat) {
		r.bad.Add(1)
		return
	}
	if !r.lat[seq].CompareAndSwap(0, max(now-sent, 0)+1) {
		r.dups.Add(1)
		return
	}
	r.bytes.Add(int64(len(body)))
	if r.order != nil {
		r.order.see(seq)
	}
	for {
		l := r.last.Load()
		if now <= l || r.last.CompareAndSwap(l, now) {
			break
		}
	}
	if r.got.Add(1) >= r.want.Load() {
		r.once.Do(func() { close(r.done) })
	}
}

// wait blocks until every event arrived, ctx ends or timeout passes, and
// reports whether every event arrived.
func (r *recorder) wait(ctx context.Context, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// latencies returns the first-arrival latencies recorded so far.
func (r *recorder) latencies() []time.Duration {
	out := make([]time.Duration, 0, r.got.Load())
	for i := range r.lat {
		if v := r.lat[i].Load(); v > 0 {
			out = append(out, time.Duration(v-1))
		}
	}
	return out
}

// eventID returns the bench's eventId for event seq sent at sent (ns since
// the run's start): "b<seq>-<sent>", within ingest's [A-Za-z0-9_-]{1,64}.
func eventID(dst []byte, seq int, sent int64) []byte {
	dst = append(dst, 'b')
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, '-')
	return strconv.AppendInt(dst, sent, 10)
}

var idKey = []byte(`"eventId":"`)

// parseEventID finds the first eventId in a webhook body and decodes it.
func parseEventID(body []byte) (seq int, sent int64, ok bool) {
	i := bytes.Index(body, idKey)
	if i < 0 {
		return 0, 0, false
	}
	rest := body[i+len(idKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 2 || rest[0] != 'b' {
		return 0, 0, false
	}
	s, t, found := bytes.Cut(rest[1:end], []byte{'-'})
	if !found {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(string(s))
	ns, err2 := strconv.ParseInt(string(t), 10, 64)
	return n, ns, err1 == nil && err2 == nil
}

// receiverConfig configures a bench webhook receiver.
type receiverConfig struct {
	Latency     time.Duration // delay before each answer
	FailureRate float64       // share of requests answered 503, 0 to 1
	Transport   transport     // plain HTTP, or HTTPS with HTTP/1.1 or HTTP/2
	Cert        *tls.Certificate
	Down        *atomic.Bool // when set and true, every request is answered 503
	// Stride, when set, makes the last path element a connector index
	// i, recorded as events i*Stride to (i+1)*Stride-1.
	Stride int
}

// receiver is a minimal webhook endpoint on 127.0.0.1: it reads the body,
// waits Latency, rolls FailureRate (503), else records the event and
// answers 204. It verifies no signature, so it costs the machine as little
// as an endpoint can.
type receiver struct {
	cfg   receiverConfig
	rec   *recorder
	srv   *http.Server
	ln    net.Listener
	reqs  atomic.Int64
	conns connCounts
	ramp  rampMeter
	pool  sync.Pool
}

// startReceiver listens on a free loopback port and serves until close.
func startReceiver(cfg receiverConfig, rec *recorder) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{cfg: cfg, rec: rec, ln: ln}
	r.pool.New = func() any { return new(bytes.Buffer) }
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second, ConnState: r.conns.connState}
	if !cfg.Transport.TLS {
		go func() { _ = r.srv.Serve(ln) }()
		return r, nil
	}
	if cfg.Cert == nil {
		ln.Close()
		return nil, errors.New("a TLS receiver needs a certificate")
	}
	r.serveTLS()
	return r, nil
}

// URL is the receiver's endpoint.
func (r *receiver) URL() string {
	scheme := "http://"
	if r.cfg.Transport.TLS {
		scheme = "https://"
	}
	return scheme + r.ln.Addr().String() + "/hook"
}

func (r *receiver) close() { _ = r.srv.Close() }

// ServeHTTP implements http.Handler.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.reqs.Add(1)
	if r.rec != nil {
		leave := r.ramp.enter(int64(time.Since(r.rec.t0)))
		defer leave()
	}
	buf := r.pool.Get().(*bytes.Buffer)
	defer r.pool.Put(buf)
	buf.Reset()
	if _, err := io.Copy(buf, io.LimitReader(req.Body, 1<<20)); err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if r.cfg.Latency > 0 && !pipeline.Sleep(req.Context(), r.cfg.Latency) {
		return
	}
	if (r.cfg.FailureRate > 0 && rand.Float64() < r.cfg.FailureRate) || (r.cfg.Down != nil && r.cfg.Down.Load()) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.rec != nil {
		r.rec.recordAt(r.base(req.URL.Path), buf.Bytes(), int64(time.Since(r.rec.t0)))
	}
	w.WriteHeader(http.StatusNoContent)
}

// base returns the first event index of the connector a path names, 0
// without a Stride; -len(lat) (recorded as bad) for a bad path.
func (r *receiver) base(path string) int {
	if r.cfg.Stride == 0 {
		return 0
	}
	i, err := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
	if err != nil || i < 0 {
		return -len(r.rec.lat)
	}
	return i * r.cfg.Stride
}

// errIncomplete marks a run in which not every event arrived in time.
var errIncomplete = errors.New("not every event arrived before the deadline")
