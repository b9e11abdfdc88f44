package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The pauses between rounds of ProduceAcked: the first, and the most.
const (
	firstProducePause = 100 * time.Millisecond
	maxProducePause   = 5 * time.Second
)

// ProduceAcked produces recs and returns nil once Kafka has acknowledged
// every one of them. It is how every stage writes: ingest, fanout, deliver
// and retry, and replay.
//
// The records go out together, so kgo batches them, and one callback
// counts the acknowledgements: no goroutine per record. kgo itself retries
// retriable errors within a produce. The retry policy on top is this: when
// any record fails, only the failed ones are produced again after a pause
// of 100ms, doubling up to 5s, with a warning logged each time, until all
// are acknowledged or ctx ends. At-least-once never drops a record because
// a write failed; a caller that must answer in time (ingest) bounds the
// wait with ctx's deadline.
//
// When ctx ends first, ProduceAcked returns at once an error that wraps
// ctx's error and says how many records were not acknowledged; some of
// those may still be written later. Records must not be changed or reused
// after the call, even when it returned early.
func ProduceAcked(ctx context.Context, cl *kgo.Client, log *slog.Logger, recs ...*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	failed, cause, err := produceRound(ctx, cl, recs)
	if len(failed) == 0 || err != nil {
		return err
	}
	return produceAgain(ctx, cl, log, len(recs), failed, cause)
}

// produceAgain is ProduceAcked's retry loop for the records of a batch of
// total that failed with cause. It is a function of its own so that the
// first round, the hot path, runs on a small stack frame: stages call
// ProduceAcked on executor goroutines, whose stacks are copied when they
// grow.
func produceAgain(ctx context.Context, cl *kgo.Client, log *slog.Logger, total int, failed []*kgo.Record, cause error) error {
	pause := firstProducePause
	for len(failed) > 0 {
		log.Warn("produce failed, retrying", "topic", failed[0].Topic, "failed", len(failed), "of", total,
			"err", cause, "in", pause)
		if !pipeline.Sleep(ctx, pause) {
			return fmt.Errorf("%d of %d records not acknowledged (last failure: %v): %w", len(failed), total, cause, ctx.Err())
		}
		var err error
		if failed, cause, err = produceRound(ctx, cl, failed); err != nil {
			return err
		}
		pause = min(2*pause, maxProducePause)
	}
	return nil
}

// produceRound produces recs once and waits for their acknowledgements.
// It returns the records that failed and the first failure's error, or an
// error when ctx ended first.
func produceRound(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) (failed []*kgo.Record, cause, err error) {
	w := &acks{pending: len(recs), done: make(chan struct{})}
	for _, r := range recs {
		cl.Produce(ctx, r, w.promise)
	}
	select {
	case <-w.done:
		return w.failed, w.first, nil // done is closed after the last write
	case <-ctx.Done():
		if err := w.abandon(ctx, len(recs)); err != nil {
			return nil, nil, err
		}
		return w.failed, w.first, nil
	}
}

// acks collects one round's acknowledgements. Its promise runs on kgo's
// promise goroutine; done is closed after the last one.
type acks struct {
	mu      sync.Mutex
	pending int
	failed  []*kgo.Record
	first   error
	done    chan struct{}
}

// abandon returns, when ctx ended with acknowledgements of the round's n
// records still pending, the error that says how many; nil when none is.
func (a *acks) abandon(ctx context.Context, n int) error {
	a.mu.Lock()
	pending := a.pending
	a.mu.Unlock()
	if pending == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d records not acknowledged: %w", pending, n, ctx.Err())
}

func (a *acks) promise(r *kgo.Record, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if a.first == nil {
			a.first = err
		}
		a.failed = append(a.failed, r)
	}
	if a.pending--; a.pending == 0 {
		close(a.done)
	}
}
