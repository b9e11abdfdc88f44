package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNotStored is wrapped by Write's error when none of the request's
// records became visible: the transaction holding them was aborted or
// never committed, so a read_committed consumer never sees them.
var ErrNotStored = errors.New("nothing was stored")

// ErrOutcomeUnknown is wrapped by Write's error when Kafka did not confirm
// the outcome of the commit (the coordinator failed or went away at that
// instant): the records are either all visible or none of them.
var ErrOutcomeUnknown = errors.New("kafka did not confirm whether the write committed")

// DefaultMaxBatchRecords bounds the records of one transaction.
const DefaultMaxBatchRecords = 20000

// WriterConfig configures a Writer.
type WriterConfig struct {
	// Client is a transactional producer (kgo.TransactionalID set) used
	// by this Writer alone, made by kafka.Config (so that kafka.CommitTxn
	// sees a commit the client turned into an abort). Required.
	Client *kgo.Client
	// Timeout bounds how long a request waits to be started and then for
	// Kafka to acknowledge its records, before it fails with
	// ErrNotStored. Default DefaultProduceTimeout.
	Timeout time.Duration
	// MaxBatchRecords bounds the records committed in one transaction;
	// a single request larger than that is still written whole. Default
	// DefaultMaxBatchRecords.
	MaxBatchRecords int
	// Logger logs failed transactions. Default slog.Default().
	Logger *slog.Logger
}

// Writer writes requests' records to Kafka all-or-nothing: the records of
// one Write become visible to read_committed consumers together, or not at
// all. Requests that arrive while a transaction is running are grouped into
// the next one (group commit), so one transaction at a time serves any
// number of concurrent requests, and a lone request is never held back by a
// timer. A failing transaction fails every request in it.
//
// Run must be running for Write to make progress; Write is safe for
// concurrent use. The Writer is a stage named "ingest": it is Ready once
// its producer id is initialised, which also aborts any transaction a
// crashed predecessor with the same transactional id left open.
type Writer struct {
	cfg     WriterConfig
	log     *slog.Logger
	reqs    chan *writeReq // unbuffered: a sent request is in Run's hands
	stopped chan struct{}  // closed when Run returns
	ready   atomic.Bool
	// unended is set when an abort failed (Kafka away): the client is
	// still in that transaction, which must be aborted before the next.
	// Only Run's goroutine uses it.
	unended bool
	// spacer keeps transactions kafka.TxnSpacing apart; Run's goroutine.
	spacer kafka.TxnSpacer
}

type writeReq struct {
	recs     []*kgo.Record
	deadline time.Time
	done     chan error   // cap 1
	state    atomic.Int32 // reqPending, then reqCommitting (by Run) or reqAbandoned (by Write)
}

// A request's state: Write abandons a pending request it stops waiting
// for, and Run commits a transaction only when it could move every
// request in it to committing; otherwise it aborts. So a request answered
// ErrNotStored is never committed later.
const (
	reqPending int32 = iota
	reqCommitting
	reqAbandoned
)

// NewWriter returns a Writer for cfg.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if cfg.Client == nil {
		return nil, errors.New("ingest writer: no kafka client configured")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultProduceTimeout
	}
	if cfg.MaxBatchRecords <= 0 {
		cfg.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Writer{cfg: cfg, log: cfg.Logger, reqs: make(chan *writeReq), stopped: make(chan struct{})}, nil
}

// Name returns "ingest".
func (w *Writer) Name() string { return "ingest" }

// Ready reports whether the transactional producer is initialised.
func (w *Writer) Ready() bool { return w.ready.Load() }

// Write writes recs in one transaction (shared with concurrent requests)
// and returns nil once Kafka committed it. Otherwise the error wraps
// ErrNotStored (nothing of recs is or will become visible) or, when the
// commit's outcome is unconfirmed, ErrOutcomeUnknown. The wait is bounded
// by Timeout for the produce, plus the commit; ctx's cancellation is not
// honoured once recs are handed to the transaction, since the records of
// other requests share it.
func (w *Writer) Write(ctx context.Context, recs []*kgo.Record) error {
	r := &writeReq{recs: recs, deadline: time.Now().Add(w.cfg.Timeout), done: make(chan error, 1)}
	t := time.NewTimer(w.cfg.Timeout)
	defer t.Stop()
	select {
	case w.reqs <- r:
	case <-w.stopped:
		return fmt.Errorf("ingest is stopping: %w", ErrNotStored)
	case <-t.C:
		return fmt.Errorf("no transaction could start within %s: %w", w.cfg.Timeout, ErrNotStored)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ctx.Err(), ErrNotStored)
	}
	// Kafka may hold a produce longer than its context asks (a request
	// already sent waits for its answer): past the deadline, and a second
	// of grace, give up unless the commit has begun.
	late := time.NewTimer(time.Until(r.deadline) + time.Second)
	defer late.Stop()
	select {
	case err := <-r.done:
		return err
	case <-late.C:
		if r.state.CompareAndSwap(reqPending, reqAbandoned) {
			return fmt.Errorf("kafka did not acknowledge within %s: %w", w.cfg.Timeout, ErrNotStored)
		}
		return <-r.done // the commit began: its outcome
	}
}

// Run initialises the producer and then commits batches of requests until
// ctx ends. It returns an error only when the producer is fenced (another
// process uses the same transactional id) or otherwise unusable.
func (w *Writer) Run(ctx context.Context) error {
	defer close(w.stopped)
	if err := w.init(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-w.reqs:
			w.spacer.Wait() // requests arriving meanwhile join this transaction
			if err := w.commit(w.gather(r)); err != nil {
				return err
			}
		}
	}
}

// init gets the producer id, retrying until it works or ctx ends.
func (w *Writer) init(ctx context.Context) error {
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		_, _, err := w.cfg.Client.ProducerID(ctx)
		if err == nil {
			w.ready.Store(true)
			return nil
		}
		if fatal := fatalErr(err); fatal != nil {
			return fatal
		}
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("ingest: initialising the transactional producer failed, retrying", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}

// gather adds to first the requests waiting now, up to MaxBatchRecords.
func (w *Writer) gather(first *writeReq) []*writeReq {
	batch, n := []*writeReq{first}, len(first.recs)
	for n < w.cfg.MaxBatchRecords {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
			n += len(r.recs)
		default:
			return batch
		}
	}
	return batch
}

// commit writes batch in one transaction and answers every request in it.
// It returns an error only when the producer cannot go on.
func (w *Writer) commit(batch []*writeReq) error {
	var recs []*kgo.Record
	deadline := batch[0].deadline
	for _, r := range batch {
		recs = append(recs, r.recs...)
		if r.deadline.Before(deadline) {
			deadline = r.deadline
		}
	}
	err := w.transact(batch, recs, deadline)
	w.spacer.Ended()
	for _, r := range batch {
		r.done <- err
	}
	if err != nil {
		w.log.Error("ingest: transaction failed", "requests", len(batch), "records", len(recs), "err", err)
	}
	return fatalErr(err)
}

// transact produces recs in a transaction and commits it; it aborts on any
// failure before the commit.
func (w *Writer) transact(batch []*writeReq, recs []*kgo.Record, deadline time.Time) error {
	cl := w.cfg.Client
	if w.unended {
		if err := w.abort(); err != nil {
			return fmt.Errorf("ending the previous transaction: %w: %w", err, ErrNotStored)
		}
	}
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w: %w", err, ErrNotStored)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(fmt.Errorf("produce: %w: %w", err, ErrNotStored), w.abort())
	}
	for _, r := range batch {
		if !r.state.CompareAndSwap(reqPending, reqCommitting) {
			return errors.Join(fmt.Errorf("a request gave up waiting: %w", ErrNotStored), w.abort())
		}
	}
	// The commit gets its own bound: cancelling it midway would leave
	// its outcome unknown.
	endCtx, endCancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
	defer endCancel()
	err := kafka.CommitTxn(endCtx, cl)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kafka.ErrTxnAborted): // the client aborted it: nothing is visible
		return fmt.Errorf("commit: %w: %w", err, ErrNotStored)
	case errors.Is(err, kerr.OperationNotAttempted), errors.Is(err, kerr.TransactionAbortable),
		errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
		return errors.Join(fmt.Errorf("commit refused: %w: %w", err, ErrNotStored), w.abort())
	default:
		return errors.Join(fmt.Errorf("commit: %w: %w", err, ErrOutcomeUnknown), w.abort())
	}
}

// abort drops what is buffered and aborts the open transaction; when that
// fails, the next transaction tries again first.
func (w *Writer) abort() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
	defer cancel()
	w.unended = true
	if err := w.cfg.Client.AbortBufferedRecords(ctx); err != nil {
		return fmt.Errorf("abort buffered records: %w", err)
	}
	if err := w.cfg.Client.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("abort transaction: %w", err)
	}
	w.unended = false
	return nil
}

// fatalErr returns a clear error when err means the producer was fenced
// by another one with the same transactional id, else nil.
func fatalErr(err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		return fmt.Errorf("ingest producer stopped: %w (is another process running with the same instance id?)", err)
	}
	return nil
}
