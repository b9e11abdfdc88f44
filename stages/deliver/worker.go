package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// worker handles one connector's records for a deliver or retry stage.
type worker struct {
	conn     *pipeline.Connector
	topics   pipeline.Topics
	sender   *Sender
	producer *kgo.Client // writes moves when mover is nil
	mover    *moverRef   // the stage's consumer, once made; nil without a stage
	metrics  *metrics.ConnectorMetrics
	log      *slog.Logger
	tiers    map[string]int // topic → tier; -1 is the main topic
	gate     *health.Gate   // nil: no endpoint health
}

// newWorker returns connector c's worker; its HTTP client is
// cfg.HTTPClient(c), or a shared one from cfg.Transports.
func newWorker(cfg Config, c *pipeline.Connector) *worker {
	var client *http.Client
	switch {
	case cfg.HTTPClient != nil:
		client = cfg.HTTPClient(c)
	case cfg.Transports != nil:
		client = cfg.Transports.Client(c)
	}
	sender := NewSender(c, cfg.Version, client)
	if cfg.HTTPClient == nil && cfg.Transports != nil {
		if pool := cfg.Transports.H1(c); pool != nil {
			sender.useH1(pool, c.URL)
		}
	}
	return &worker{
		conn:     c,
		topics:   cfg.Topics,
		sender:   sender,
		producer: cfg.Producer,
		mover:    cfg.mover,
		metrics:  cfg.Metrics.Connector(c.Name),
		log:      logger(cfg).With("connector", c.Name),
		tiers:    make(map[string]int),
		gate:     cfg.Health.Gate(c.Name),
	}
}

// route adds the worker's gate, when it has one, to r.
func (w *worker) route(r kafka.Route) kafka.Route {
	r.ExpiresAt = w.expiresAt
	if w.gate != nil {
		r.Gate = w.gate
	}
	return r
}

// expiresAt is when r's event reaches max_age and goes to the DLQ.
func (w *worker) expiresAt(r *kgo.Record) time.Time {
	return pipeline.ReadIngestTime(r).Add(w.conn.Retry.MaxAge)
}

// release gives r back to the gate unsent.
func (w *worker) release(r *kgo.Record) {
	if w.gate != nil {
		w.gate.Release(r)
	}
}

// dueAt is when a retry record may be sent: Backoff[tier] after it entered
// the tier, or at expiry if that comes first (it then goes to the DLQ). A
// tier beyond the backoff list (it was shortened by a reload) waits as
// the last one.
func (w *worker) dueAt(r *kgo.Record) time.Time {
	b := w.conn.Retry.Backoff
	due := r.Timestamp.Add(b[min(w.tiers[r.Topic], len(b)-1)])
	expiry := pipeline.ReadMeta(r).IngestTime.Add(w.conn.Retry.MaxAge)
	if expiry.Before(due) {
		return expiry
	}
	return due
}

// handle settles one record: an expired event goes to the DLQ unsent; else
// it is POSTed, and a failure moves it to the next retry tier. It returns
// nil once the endpoint acknowledged r (a 2xx), and kafka.ErrMoved for a
// move: r is acknowledged when the stage's transaction that writes the
// move and commits r's offset commits (see kafka.Consumer.Move). For a
// connector ordered by device, a failure in the main topic is retried in
// place instead (kafka.RetryAt): the record is not acknowledged, and its
// device's later events wait behind it.
func (w *worker) handle(ctx context.Context, r *kgo.Record) error {
	meta := pipeline.ReadMeta(r)
	if age := time.Since(meta.IngestTime); age >= w.conn.Retry.MaxAge {
		w.release(r)
		reason := fmt.Sprintf("expired: ingested %s ago, max_age %s, after %d attempts", age.Round(time.Second), w.conn.Retry.MaxAge, meta.Attempts)
		err := w.produce(ctx, w.topics.DLQ(w.conn.Name), r, meta, reason)
		if err == nil || errors.Is(err, kafka.ErrMoved) {
			w.metrics.Expired()
		}
		return err
	}
	w.metrics.InFlight(1)
	res := w.sender.SendEvent(ctx, meta.EventID, r.Value)
	w.metrics.InFlight(-1)
	if ctx.Err() != nil && !res.OK {
		w.release(r)
		return ctx.Err() // abandoned mid-request: the next owner sends it again
	}
	judge(w.gate, w.metrics, w.conn, r, res)
	if res.OK {
		w.metrics.Delivered(res.Took, meta.IngestTime)
		return nil
	}
	w.metrics.Failed(res.Class, res.Took)
	meta.Attempts++
	meta.LastError = res.Err
	if w.conn.OrderedByDevice() && w.tiers[r.Topic] < 0 {
		return w.retryInPlace(r, meta)
	}
	next := w.conn.Retry.Tier(w.tiers[r.Topic])
	err := w.produce(ctx, w.topics.Retry(w.conn.Name, next), r, meta, "")
	if err == nil || errors.Is(err, kafka.ErrMoved) {
		w.metrics.Retried(next)
	}
	return err
}

// retryInPlace is a failure of an ordered connector's event: the event
// stays in its partition, its device held, and runs again once the backoff
// of its attempt (Backoff[attempts-1], the last repeating) has passed, or
// when it expires and goes to the DLQ. The record keeps its attempts and
// last error in its headers, for the DLQ and for the next attempt; a
// restart counts them afresh from the main topic's record.
func (w *worker) retryInPlace(r *kgo.Record, meta pipeline.Meta) error {
	n := min(meta.Attempts, len(w.conn.Retry.Backoff)) - 1
	at := time.Now().Add(w.conn.Retry.Backoff[n])
	if exp := meta.IngestTime.Add(w.conn.Retry.MaxAge); exp.Before(at) {
		at = exp
	}
	r.Headers = meta.Record(r.Topic, r.Key, r.Value, "").Headers
	w.metrics.Retried(n)
	return kafka.RetryAt(at)
}

// produce moves r's body to topic with meta's headers: it queues the move
// for the stage's next transaction, which also commits r's offset, and
// returns kafka.ErrMoved (see kafka.Consumer.Move). A worker without a
// stage (unit tests) writes with its producer instead and returns nil once
// Kafka acknowledged the record, at least once.
func (w *worker) produce(ctx context.Context, topic string, r *kgo.Record, meta pipeline.Meta, reason string) error {
	out := meta.Record(topic, r.Key, r.Value, reason)
	if w.mover != nil && w.mover.c != nil {
		return w.mover.c.Move(ctx, r, out)
	}
	return kafka.ProduceAcked(ctx, w.producer, w.log, out)
}
