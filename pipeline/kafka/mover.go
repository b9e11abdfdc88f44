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

// errAborted is a move's result when its transaction aborted: Move queues
// it again.
var errAborted = errors.New("transaction aborted")

// move is one handler's output waiting for, or in, a transaction.
type move struct {
	p      *partition
	offset int64
	outs   []*kgo.Record
	taken  bool       // in a transaction being ended; guarded by mover.mu
	done   chan error // one result per transaction it was taken into
}

// mover batches a consumer's moves. Its transactions run one at a time on
// the consumer's mark loop, under commitMu.
type mover struct {
	txn     txnGroup
	mu      sync.Mutex
	pending []*move
	since   time.Time // when the oldest pending move was queued
}

// partKey is the context key under which a handler's context carries its
// partition, for Move.
type partKey struct{}

// Move writes outs, the result of the handler's work on in, in a Kafka
// transaction that also commits in's offset with the done prefix of its
// partition before it, and returns nil once that transaction committed.
// in's work is then acknowledged: the handler returns nil. Consumers of
// the outs' topics see them only then (read_committed), so a crash, a
// rebalance or a fenced zombie writes them once or not at all.
//
// ctx must be the context the handler was called with. Move returns an
// error, and the handler must return it, when ctx ended before the move
// was taken into a transaction (the offset stays uncommitted and the next
// owner does the work again), when the stage was fenced, or when the
// consumer is not transactional. A move whose transaction aborted is
// queued again while its partition is still this consumer's.
func (c *Consumer) Move(ctx context.Context, in *kgo.Record, outs ...*kgo.Record) error {
	p, _ := ctx.Value(partKey{}).(*partition)
	switch {
	case c.mover == nil:
		return fmt.Errorf("consumer %s: Move needs a transactional consumer", c.cfg.Group)
	case p == nil:
		return fmt.Errorf("consumer %s: Move needs the handler's context", c.cfg.Group)
	}
	m := &move{p: p, offset: in.Offset, outs: outs, done: make(chan error, 1)}
	for {
		c.mover.add(m)
		select {
		case err := <-m.done:
			if !errors.Is(err, errAborted) || ctx.Err() != nil {
				return err
			}
		case <-ctx.Done():
			if c.mover.remove(m) {
				return ctx.Err()
			}
			// Already in a transaction: its outcome decides.
			if err := <-m.done; err != nil {
				return err
			}
			return nil
		}
	}
}

func (mv *mover) add(m *move) {
	mv.mu.Lock()
	if len(mv.pending) == 0 {
		mv.since = time.Now()
	}
	mv.pending = append(mv.pending, m)
	mv.mu.Unlock()
}

// remove takes m out of the queue; false when it is in a transaction.
func (mv *mover) remove(m *move) bool {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if m.taken {
		return false
	}
	mv.pending = slices.DeleteFunc(mv.pending, func(x *move) bool { return x == m })
	return true
}

// take returns the pending moves when they are due (or force is set),
// marked taken, and empties the queue. Moves of lost partitions are
// answered at once and left out: their offsets cannot be committed.
func (mv *mover) take(force bool) []*move {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	if len(mv.pending) == 0 || !force && len(mv.pending) < moveBatch && time.Since(mv.since) < moveEvery {
		return nil
	}
	batch := mv.pending
	mv.pending = nil
	live := batch[:0]
	for _, m := range batch {
		if m.p.lost.Load() {
			m.done <- errLost
			continue
		}
		m.taken = true
		live = append(live, m)
	}
	clear(batch[len(live):])
	return live
}

var errLost = errors.New("partition lost")

// settleMoves answers each move of batch with err (nil when its
// transaction committed, after its offset was made done).
func (c *Consumer) settleMoves(batch []*move, err error) {
	for _, m := range batch {
		if err == nil && m.p.tracker.Done(m.offset) && !m.p.dirty.Swap(true) {
			c.dirty.add(m.p)
		}
	}
	c.mover.mu.Lock()
	for _, m := range batch {
		m.taken = false
		m.done <- err
	}
	c.mover.mu.Unlock()
}

// flushMoves writes the due moves (all of them when force is set) and
// commits their offsets in one transaction, under commitMu. A transaction
// that fails is aborted and its moves are queued again by their handlers;
// a fatal error stops the consumer.
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
		c.settleMoves(batch, nil)
		return
	}
	c.log.Warn("transaction not committed; its moves are written again", "moves", len(batch), "err", err)
	if aerr := abortTxn(c.mover.txn.prod, c.stopped, func(err error, in time.Duration) {
		c.log.Warn("aborting the failed transaction failed, retrying", "err", err, "in", in)
	}); aerr != nil && fatalTxn(aerr) {
		err = aerr
	}
	if fatalTxn(err) {
		c.fail(fmt.Errorf("group %s, transactional id %s: %w: another process writes with the same id", c.cfg.Group, c.mover.txn.txnID, err))
		c.settleMoves(batch, err)
		return
	}
	c.settleMoves(batch, errAborted)
}

// prefixes returns, per partition of batch, the commit point with the
// batch's offsets counted as done.
func prefixes(batch []*move) map[string]map[int32]kgo.EpochOffset {
	staged := map[*partition][]int64{}
	for _, m := range batch {
		staged[m.p] = append(staged[m.p], m.offset)
	}
	out := map[string]map[int32]kgo.EpochOffset{}
	for p, offs := range staged {
		slices.Sort(offs)
		if eo, ok := p.tracker.PrefixWith(offs); ok {
			if out[p.tp.topic] == nil {
				out[p.tp.topic] = map[int32]kgo.EpochOffset{}
			}
			out[p.tp.topic][p.tp.partition] = eo
		}
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
	if err := prod.BeginTransaction(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	var mu sync.Mutex
	var failed error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			failed = cmp(failed, err)
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
	err = cmp(err, failed)
	mu.Unlock()
	if err == nil {
		err = c.mover.txn.commitOffsets(ctx, offsets)
	}
	if err == nil {
		err = prod.EndTransaction(ctx, kgo.TryCommit)
	}
	return err
}

// cmp returns a when it is not nil, else b.
func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
