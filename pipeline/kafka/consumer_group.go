package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// assigned adds the state of every newly assigned partition.
func (c *Consumer) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.addParts(assigned)
	c.joined.Store(true)
	c.log.Debug("partitions assigned", "partitions", assigned)
	c.assignmentChanged()
}

func (c *Consumer) addParts(assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for topic, ps := range assigned {
		l := c.lanes[topic]
		if l == nil {
			if !c.retired[topic] { // a removed route's topic may come once more before the purge
				c.log.Error("assigned a topic of no route", "topic", topic)
			}
			continue
		}
		for _, id := range ps {
			tp := topicPartition{topic, id}
			if c.parts[tp] == nil {
				c.parts[tp] = newPartition(l, tp)
			}
		}
	}
}

// assignmentChanged calls OnAssignment, holding no lock.
func (c *Consumer) assignmentChanged() {
	if c.cfg.OnAssignment != nil {
		c.cfg.OnAssignment()
	}
}

// revoked settles the revoked partitions' in-flight work and commits their
// done prefix before the group may hand them to another member.
func (c *Consumer) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	c.release(c.take(revoked), c.cfg.RevokeGrace, true)
	c.log.Debug("partitions revoked", "partitions", revoked)
	c.assignmentChanged()
}

// lost abandons the lost partitions' work at once; their offsets cannot be
// committed any more, so the new owner reads them again.
func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := c.take(lost)
	for _, p := range ps {
		p.lost.Store(true)
	}
	c.release(ps, 0, false)
	c.log.Warn("partitions lost", "partitions", lost)
	c.assignmentChanged()
}

func (c *Consumer) take(tps map[string][]int32) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*partition
	for topic, ps := range tps {
		for _, id := range ps {
			tp := topicPartition{topic, id}
			if p := c.parts[tp]; p != nil {
				out = append(out, p)
				delete(c.parts, tp)
			}
		}
	}
	return out
}

func (c *Consumer) takeAll() []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*partition, 0, len(c.parts))
	for tp, p := range c.parts {
		out = append(out, p)
		delete(c.parts, tp)
	}
	return out
}

// release stops starting the partitions' records, waits up to grace for
// in-flight work, cancels what is left, and, when commit is set, writes
// the pending moves (of a transactional consumer) and commits each
// partition's done prefix synchronously.
func (c *Consumer) release(ps []*partition, grace time.Duration, commit bool) {
	if len(ps) == 0 {
		return
	}
	settle(ps, grace)
	defer func() {
		for _, p := range ps {
			p.lost.Store(true) // no move of it may be committed from now on
		}
	}()
	if !commit {
		return
	}
	if c.mover != nil {
		c.flushMoves(true) // the moves of ps go with the offsets before them
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.commit(ctx, c.offsetsOf(ps), ps); err != nil {
		c.log.Warn("commit on release failed; uncommitted records will be delivered again", "err", err)
	}
}

// offsetsOf returns the commit points that moved for the given
// partitions; nil when none did.
func (c *Consumer) offsetsOf(ps []*partition) map[string]map[int32]kgo.EpochOffset {
	var offsets map[string]map[int32]kgo.EpochOffset
	for _, p := range ps {
		eo, moved := p.tracker.Committable()
		if !moved {
			continue
		}
		if offsets == nil {
			offsets = make(map[string]map[int32]kgo.EpochOffset)
		}
		if offsets[p.tp.topic] == nil {
			offsets[p.tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		offsets[p.tp.topic][p.tp.partition] = eo
	}
	return offsets
}

// markEvery is how often moved commit points are marked and committed, one
// commit at a time and only when one moved: the done prefix is committed
// within markEvery plus a commit's round trip, which bounds what a crash
// repeats beyond the work in flight. kgo's autocommit, every commitEvery
// (its smallest interval), is the fallback for a commit that failed; a
// transactional consumer has none, and retries a failed commit's offsets
// with its next commit instead (see Consumer.commit).
const (
	markEvery   = 20 * time.Millisecond
	commitEvery = 100 * time.Millisecond
)

// markLoop marks and commits moved commit points every markEvery. It
// visits only the partitions whose commit point moved, so an idle consumer
// costs nothing however many partitions it owns. A transactional
// consumer's loop first writes the due moves in a transaction.
func (c *Consumer) markLoop(ctx context.Context) {
	t := time.NewTicker(markEvery)
	defer t.Stop()
	var buf []*partition
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.mover != nil {
			c.flushMoves(false)
		}
		buf = c.dirty.take(buf)
		if len(buf) == 0 && c.mover == nil {
			continue
		}
		live := buf[:0]
		for _, p := range buf {
			if !p.gone.Load() {
				live = append(live, p)
			}
		}
		if offsets := c.offsetsOf(live); offsets != nil || c.mover != nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := c.commit(cctx, offsets, nil); err != nil && ctx.Err() == nil {
				c.log.Debug("commit failed; it is retried", "err", err)
			}
			cancel()
		}
		clear(buf)
	}
}
