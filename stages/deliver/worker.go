package deliver

import (
	"context"
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
	producer *kgo.Client
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
// the tier, or at expiry if that comes first (it then goes to the DLQ).
func (w *worker) dueAt(r *kgo.Record) time.Time {
	due := r.Timestamp.Add(w.conn.Retry.Backoff[w.tiers[r.Topic]])
	expiry := pipeline.ReadMeta(r).IngestTime.Add(w.conn.Retry.MaxAge)
	if expiry.Before(due) {
		return expiry
	}
	return due
}

// handle settles one record: an expired event goes to the DLQ unsent; else
// it is POSTed, and a failure moves it to the next retry tier. It returns
// nil once the outcome is acknowledged (by the endpoint or by Kafka).
func (w *worker) handle(ctx context.Context, r *kgo.Record) error {
	meta := pipeline.ReadMeta(r)
	if age := time.Since(meta.IngestTime); age >= w.conn.Retry.MaxAge {
		w.release(r)
		reason := fmt.Sprintf("expired: ingested %s ago, max_age %s, after %d attempts", age.Round(time.Second), w.conn.Retry.MaxAge, meta.Attempts)
		if err := w.produce(ctx, w.topics.DLQ(w.conn.Name), r, meta, reason); err != nil {
			return err
		}
		w.metrics.Expired()
		return nil
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
	next := w.conn.Retry.Tier(w.tiers[r.Topic])
	if err := w.produce(ctx, w.topics.Retry(w.conn.Name, next), r, meta, ""); err != nil {
		return err
	}
	w.metrics.Retried(next)
	return nil
}

// produce writes r's body to topic with meta's headers and waits for Kafka
// to acknowledge it, retrying until it is acknowledged or ctx ends.
func (w *worker) produce(ctx context.Context, topic string, r *kgo.Record, meta pipeline.Meta, reason string) error {
	return kafka.ProduceAcked(ctx, w.producer, w.log, meta.Record(topic, r.Key, r.Value, reason))
}
