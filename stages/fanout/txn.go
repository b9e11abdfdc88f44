package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Run fans out until ctx ends: it polls a batch of events (up to
// MaxInFlight), writes their bodies in a transaction and commits the
// group's offsets past the batch in the same transaction. A transaction
// that fails is aborted and the batch is read again from the committed
// offsets. At the end the open transaction, if any, is finished, and the
// client closed; Run returns nil then. It returns an error when the stage
// cannot go on: fenced by another process with the same instance or
// transactional id.
func (s *Stage) Run(ctx context.Context) error {
	defer s.sess.Close()
	// Initialising the producer id first fences and aborts a transaction
	// a crashed predecessor with this transactional id left open: until
	// then the group's offsets are unstable and the first poll would wait
	// for the transaction timeout.
	if _, _, err := s.sess.Client().ProducerID(ctx); err != nil && ctx.Err() == nil {
		if errors.Is(err, kerr.ProducerFenced) {
			return fmt.Errorf("fanout: %s: %w", s.identity, err)
		}
		s.log.Warn("fanout: initialising the transactional producer failed; the first transaction retries", "err", err)
	}
	for ctx.Err() == nil {
		fs := s.sess.PollRecords(ctx, s.set.batch)
		if fs.IsClientClosed() {
			return nil
		}
		if err := s.fetchErr(fs); err != nil {
			return err
		}
		if fs.Empty() {
			continue
		}
		if err := s.transact(ctx, fs); err != nil {
			return err
		}
	}
	return nil
}

// fetchErr logs fetch errors and returns the fatal one, if any.
func (s *Stage) fetchErr(fs kgo.Fetches) error {
	var fatal error
	fs.EachError(func(t string, p int32, err error) {
		switch {
		case errors.Is(err, kerr.FencedInstanceID):
			fatal = fmt.Errorf("fanout: %s: %w: another process joined with the same id; give each process its own --instance-id (or --data-dir)", s.identity, err)
		case !errors.Is(err, context.Canceled):
			s.log.Warn("fanout: fetch error", "topic", t, "partition", p, "err", err)
		}
	})
	return fatal
}

// transact writes the bodies of fs's events and commits them with the
// offsets in one transaction, once Kafka acknowledged every body. A body
// Kafka refused, or a failed transaction, is logged and aborted; the session then rewinds to the committed offsets and the
// batch is read again. The commit is not bound to the stage's context:
// cancelling it midway would leave its outcome unknown.
func (s *Stage) transact(ctx context.Context, fs kgo.Fetches) error {
	s.swap() // the batch is routed by the newest set: the whole transaction by one
	s.spacer.Wait()
	defer s.spacer.Ended()
	if err := s.sess.Begin(); err != nil {
		return fmt.Errorf("fanout: begin transaction: %w", err)
	}
	endCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var outs []*kgo.Record
	var owners []*target
	fs.EachRecord(func(r *kgo.Record) {
		outs, owners = s.outputs(r, outs, owners)
	})
	var refused atomic.Bool
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			refused.Store(true)
		}
	}
	for _, out := range outs {
		s.sess.Produce(endCtx, out, promise)
	}
	// A body kgo gave up on must abort the transaction: End would commit
	// the offsets past it without it.
	try := kgo.TryCommit
	if err := s.sess.Client().Flush(endCtx); err != nil || refused.Load() {
		try = kgo.TryAbort
	}
	committed, err := s.sess.End(endCtx, try)
	switch {
	case errors.Is(err, kerr.ProducerFenced):
		return fmt.Errorf("fanout: %s: %w: another process writes with the same transactional id", s.identity, err)
	case err != nil || !committed:
		s.log.Warn("fanout: transaction not committed; the batch will be read again", "events", fs.NumRecords(), "err", err)
		return s.abort(ctx)
	}
	for _, t := range owners {
		t.metrics.FannedOut()
	}
	s.logEffective(fs)
	return nil
}

// abort ends a transaction whose commit failed (End leaves it open when
// Kafka was unreachable), retrying until it is aborted or ctx ends, so
// that the next Begin starts clean.
func (s *Stage) abort(ctx context.Context) error {
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		actx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.sess.End(actx, kgo.TryAbort)
		cancel()
		switch {
		case err == nil:
			return nil
		case errors.Is(err, kerr.ProducerFenced):
			return fmt.Errorf("fanout: %s: %w", s.identity, err)
		}
		s.log.Warn("fanout: aborting the failed transaction failed, retrying", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
	}
}
