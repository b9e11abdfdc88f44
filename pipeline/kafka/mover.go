package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A transactional consumer (ConsumerConfig.TransactionalID set) writes the
// records its handlers move to other topics (a retry tier, the DLQ) in
// Kafka transactions that also commit the group's offsets past their
// input records. The moves that became due are batched: a transaction
// starts every moveEvery, or as soon as moveBatch moves wait.
const (
	moveEvery = 100 * time.Millisecond
	moveBatch = 500
)

// ErrMoved is what Move returns, and what the handler that called it must
// return: the record's work is not acknowledged yet, its offset becomes
// done when the transaction that holds its move commits.
var ErrMoved = errors.New("moved: acknowledged when its transaction commits")

// move is one handler's output waiting for a transaction.
type move struct {
	p      *partition
	offset int64
	outs   []*kgo.Record
}

// mover batches a consumer's moves. Its transactions run one at a time,
// under commitMu, on the consumer's mark loop and when partitions are
// released.
type mover struct {
	txn     txnGroup
	mu      sync.Mutex
	pending []*move
	since   time.Time // when the queue was last taken, or filled from empty
	spacer  TxnSpacer
}

// partKey is the context key under which a handler's context carries its
// partition, for Move.
type partKey struct{}

// Move queues outs, the result of the handler's work on in, for the
// consumer's next transaction, and returns ErrMoved, which the handler
// must return: its slot is free at once, and in's offset becomes done
// only when the transaction that writes outs and commits the group's
// offsets past in (with the done prefix of its partition before it)
// commits. Consumers of the outs' topics see them only then
// (read_committed), so a crash, a rebalance or a fenced zombie writes them
// once or not at all. A transaction that fails is aborted and its moves
// are written again in the next one, while their partitions are still
// this consumer's; a revoke or shutdown writes the pending moves before it
// commits and releases the partitions.
//
// ctx must be the context the handler was called with. Move returns
// another error, which the handler returns as it is, when the consumer is
// not transactional or ctx is not a handler's.
func (c *Consumer) Move(ctx context.Context, in *kgo.Record, outs ...*kgo.Record) error {
	p, _ := ctx.Value(partKey{}).(*partition)
	switch {
	case c.mover == nil:
		return fmt.Errorf("consumer %s: Move needs a transactional consumer", c.cfg.Group)
	case p == nil:
		return fmt.Errorf("consumer %s: Move needs the handler's context", c.cfg.Group)
	}
	c.mover.add(&move{p: p, offset: in.Offset, outs: outs})
	return ErrMoved
}

// add queues moves.
func (mv *mover) add(ms ...*move) {
	mv.mu.Lock()
	if len(mv.pending) == 0 {
		mv.since = time.Now()
	}
	mv.pending = append(mv.pending, ms...)
	mv.mu.Unlock()
}

// take returns the pending moves when they are due (or force is set) and
// covered: all offsets below theirs on their partition are done or moves
// too, so that the transaction can commit the partition past them. A move
// above a record still in flight waits for it; otherwise its transaction
// would write it without committing its offset, and a crash then would
// move it twice. Moves of partitions no longer committable here (lost, or
// released) are dropped: their offsets stay uncommitted, and the next
// owner does their work again.
func (mv *mover) take(force bool) []*move {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if len(mv.pending) == 0 || !force && len(mv.pending) < moveBatch && time.Since(mv.since) < moveEvery {
		return nil
	}
	upto := covered(mv.pending)
	var batch, rest []*move
	for _, m := range mv.pending {
		switch {
		case m.p.lost.Load():
		case m.offset < upto[m.p].Offset:
			batch = append(batch, m)
		default:
			rest = append(rest, m)
		}
	}
	mv.pending, mv.since = rest, time.Now()
	return batch
}

// covered returns, per partition of ms, the commit point below which
// every record is done or one of ms (none when its first record is
// neither).
func covered(ms []*move) map[*partition]kgo.EpochOffset {
	staged := map[*partition][]int64{}
	for _, m := range ms {
		staged[m.p] = append(staged[m.p], m.offset)
	}
	upto := make(map[*partition]kgo.EpochOffset, len(staged))
	for p, offs := range staged {
		slices.Sort(offs)
		if eo, ok := p.tracker.PrefixWith(offs); ok {
			upto[p] = eo
		}
	}
	return upto
}

// committed makes the offsets of batch's moves done: their transaction
// committed.
func (c *Consumer) committed(batch []*move) {
	for _, m := range batch {
		if m.p.tracker.Done(m.offset) && !m.p.dirty.Swap(true) {
			c.dirty.add(m.p)
		}
	}
}

// flushMoves writes the due moves (all of them when force is set) and
// commits their offsets in one transaction, under commitMu. A transaction
// that fails is aborted and its moves are queued again; a fatal error
// stops the consumer.
func (c *Consumer) flushMoves(force bool) {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	batch := c.mover.take(force)
	if len(batch) == 0 {
		return
	}
	err := c.transact(batch, prefixes(batch))
	if err == nil {
		for _, m := range batch {
			delete(c.unsent[m.p.tp.topic], m.p.tp.partition) // the transaction committed further
		}
		c.committed(batch)
		return
	}
	c.log.Warn("transaction not committed; its moves are written again", "moves", len(batch), "err", err)
	if aerr := abortTxn(c.mover.txn.prod, c.stopped, func(err error, in time.Duration) {
		c.log.Warn("aborting the failed transaction failed, retrying", "err", err, "in", in)
	}); aerr != nil && fatalTxn(aerr) {
		err = aerr
	}
	if fatalTxn(err) {
		c.fail(c.txnFatal(err))
		return
	}
	c.mover.add(batch...) // the next transaction writes them again
}

// prefixes returns, per partition of batch, the commit point with the
// batch's offsets counted as done.
func prefixes(batch []*move) map[string]map[int32]kgo.EpochOffset {
	out := map[string]map[int32]kgo.EpochOffset{}
	for p, eo := range covered(batch) {
		if out[p.tp.topic] == nil {
			out[p.tp.topic] = map[int32]kgo.EpochOffset{}
		}
		out[p.tp.topic][p.tp.partition] = eo
	}
	return out
}

// transact writes batch's records and commits offsets in one transaction.
// It is not bound to the stage's context: cancelling a commit midway would
// leave its outcome unknown.
func (c *Consumer) transact(batch []*move, offsets map[string]map[int32]kgo.EpochOffset) error {
	prod := c.mover.txn.prod
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.mover.spacer.Wait()
	defer c.mover.spacer.Ended()
	if err := prod.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	var mu sync.Mutex
	var failed error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed = firstOf(failed, err)
			mu.Unlock()
		}
	}
	for _, m := range batch {
		for _, o := range m.outs {
			r := &kgo.Record{Topic: o.Topic, Key: o.Key, Value: o.Value, Headers: o.Headers}
			prod.Produce(ctx, r, promise)
		}
	}
	err := prod.Flush(ctx)
	mu.Lock()
	err = firstOf(err, failed)
	mu.Unlock()
	if err == nil {
		err = c.mover.txn.commitOffsets(ctx, offsets)
	}
	if err == nil {
		err = CommitTxn(ctx, prod) // ErrTxnAborted: kgo aborted it; the moves are queued again
	}
	return err
}

// firstOf returns a when it is not nil, else b.
func firstOf(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
