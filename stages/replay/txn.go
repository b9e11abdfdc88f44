package replay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// txnTimeout bounds how long a replay that died mid-batch holds back the
// read_committed readers of the main topic (the next replay of the
// connector, with the same transactional id, aborts it at once).
const txnTimeout = 10 * time.Second

// txnOpts are the options of a replay's transactional client: the
// transactional id <p>.replay.<name>, one per connector, so that a replay
// fences a crashed or concurrent one of the same connector.
func txnOpts(cfg Config) []kgo.Opt {
	return append(kafka.TxnProducerOpts(),
		kgo.TransactionalID(cfg.Topics.Prefix+".replay."+cfg.Connector),
		kgo.TransactionTimeout(txnTimeout))
}

// readOpts make a DLQ reader see only committed dead letters (deliver and
// retry write them in transactions), with the transaction markers, so
// that a partition ending in a marker is read to its end.
func readOpts() []kgo.Opt {
	return []kgo.Opt{kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords()}
}

// copies returns recs' copies for the main topic, with a fresh ingest time
// and no attempts.
func copies(cfg Config, recs []*kgo.Record) []*kgo.Record {
	now := time.Now()
	topic := cfg.Topics.Connector(cfg.Connector)
	outs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		m := pipeline.ReadMeta(r)
		fresh := pipeline.Meta{IngestTime: now, EventID: m.EventID, EventType: m.EventType}
		outs[i] = fresh.Record(topic, r.Key, r.Value, "")
	}
	return outs
}

// firstErr is a produce promise that keeps the first error.
type firstErr struct {
	mu  sync.Mutex
	err error
}

func (f *firstErr) promise(_ *kgo.Record, err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// copyInTxn writes the copies of recs and commits the replay group's
// offsets past the batch in one transaction: the batch is replayed and
// marked replayed, or neither. The end is not bound to ctx: cancelling it
// midway would leave the outcome unknown.
func copyInTxn(ctx context.Context, sess *kgo.GroupTransactSession, cfg Config, recs []*kgo.Record) error {
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	var fe firstErr
	for _, o := range copies(cfg, recs) {
		sess.Produce(ctx, o, fe.promise)
	}
	endCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A copy kgo gave up on must abort the transaction: End would commit
	// the offsets without it.
	try := kgo.TryCommit
	if err := sess.Client().Flush(endCtx); err != nil || fe.get() != nil {
		try = kgo.TryAbort
	}
	committed, err := sess.End(endCtx, try)
	if err == nil && !committed {
		err = errors.Join(errors.New("transaction aborted"), fe.get())
	}
	if err != nil {
		return fmt.Errorf("write to %s: a batch of %d copies was not committed and nothing of it is visible; replay again: %w",
			cfg.Topics.Connector(cfg.Connector), len(recs), err)
	}
	return nil
}

// writeInTxn writes the copies of recs in one transaction of prod: all of
// them become visible, or none.
func writeInTxn(ctx context.Context, prod *kgo.Client, cfg Config, recs []*kgo.Record) error {
	if err := prod.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	var fe firstErr
	for _, o := range copies(cfg, recs) {
		prod.Produce(ctx, o, fe.promise)
	}
	endCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := prod.Flush(endCtx)
	if err == nil {
		err = fe.get()
	}
	if err == nil {
		if err = kafka.CommitTxn(endCtx, prod); err == nil {
			return nil
		}
	}
	if aerr := prod.AbortBufferedRecords(endCtx); aerr == nil {
		_ = prod.EndTransaction(endCtx, kgo.TryAbort)
	}
	return fmt.Errorf("write to %s: a batch of %d copies was aborted and nothing of it is visible; replay again: %w",
		cfg.Topics.Connector(cfg.Connector), len(recs), err)
}
