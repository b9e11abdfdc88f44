package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnTimeout bounds how long a transaction of a process that died
// mid-commit (and was not restarted with its instance id) holds back the
// read_committed consumers of the partitions it wrote.
const txnTimeout = 10 * time.Second

// newMover creates the transactional producer of a consumer with a
// TransactionalID; the group client must exist.
func (c *Consumer) newMover() error {
	id := c.cfg.TransactionalID
	if id == "" {
		return nil
	}
	prod, err := c.cfg.Kafka.NewClient(append(TxnProducerOpts(), kgo.TransactionalID(id),
		kgo.TransactionTimeout(txnTimeout), kgo.MaxBufferedRecords(100000))...)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", c.cfg.Group, err)
	}
	c.mover = &mover{txn: txnGroup{prod: prod, txnID: id, group: c.cl, groupID: c.cfg.Group, instanceID: c.cfg.Kafka.InstanceID}}
	return nil
}

// commitOpts are the group client's commit options: marks committed by
// markLoop with kgo's autocommit as the fallback, or, for a transactional
// consumer, no autocommit at all: its plain commits and its transactions
// must not overtake each other.
func (c *Consumer) commitOpts() []kgo.Opt {
	if c.cfg.TransactionalID != "" {
		return []kgo.Opt{kgo.DisableAutoCommit()}
	}
	return []kgo.Opt{kgo.AutoCommitMarks(), kgo.AutoCommitInterval(commitEvery)} // markLoop commits sooner
}

// initTxn initialises the transactional producer's id, which fences a
// predecessor with the same transactional id and aborts what it left open
// (until then read_committed consumers of its partitions would wait for
// the transaction timeout). Fenced is fatal; other errors are logged and
// the first transaction retries.
func (c *Consumer) initTxn(ctx context.Context) error {
	if c.mover == nil {
		return nil
	}
	_, _, err := c.mover.txn.prod.ProducerID(ctx)
	switch {
	case err == nil || ctx.Err() != nil:
		return nil
	case fatalTxn(err):
		return c.txnFatal(err)
	}
	c.log.Warn("initialising the transactional producer failed; the first transaction retries", "err", err)
	return nil
}

// txnFatal is the error a fatal transaction error stops the consumer
// with, saying what to do about it; an authorization failure names the
// ACLs on the prefix of the group's name (<p>. of <p>.deliver).
func (c *Consumer) txnFatal(err error) error {
	err = fmt.Errorf("group %s, transactional id %s: %w", c.cfg.Group, c.mover.txn.txnID, err)
	switch {
	case errors.Is(err, kerr.ProducerFenced):
		return fmt.Errorf("%w: another process writes with the same transactional id; give each process its own --instance-id (or --data-dir)", err)
	case errors.Is(err, kerr.FencedInstanceID):
		return fmt.Errorf("%w: another process joined with the same id; give each process its own --instance-id (or --data-dir)", err)
	}
	return ExplainAuthorization(err, c.cfg.Group[:strings.LastIndexByte(c.cfg.Group, '.')+1], false)
}

// commit commits offsets. A plain consumer marks them and commits the
// marks. A transactional one commits them under commitMu, with the
// offsets of a failed commit of partitions still owned (or in also), so
// that no commit overtakes a transaction's.
func (c *Consumer) commit(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset, also []*partition) error {
	if c.mover == nil {
		if offsets != nil {
			c.cl.MarkCommitOffsets(offsets)
		}
		return c.cl.CommitMarkedOffsets(ctx)
	}
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	offsets = c.withUnsent(offsets, also)
	if len(offsets) == 0 {
		return nil
	}
	var cerr error
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = err
		if resp == nil { // the request failed: no answer to read
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	c.unsent = nil
	if cerr != nil {
		c.unsent = offsets
	}
	return cerr
}

// withUnsent adds to offsets the unsent offsets of partitions it lacks
// that are still assigned here or in also. Called with commitMu held.
func (c *Consumer) withUnsent(offsets map[string]map[int32]kgo.EpochOffset, also []*partition) map[string]map[int32]kgo.EpochOffset {
	if len(c.unsent) == 0 {
		return offsets
	}
	owned := map[topicPartition]bool{}
	for _, p := range also {
		owned[p.tp] = true
	}
	c.mu.Lock()
	for tp := range c.parts {
		owned[tp] = true
	}
	c.mu.Unlock()
	for topic, ps := range c.unsent {
		for id, eo := range ps {
			if _, ok := offsets[topic][id]; ok || !owned[topicPartition{topic, id}] {
				continue
			}
			if offsets == nil {
				offsets = map[string]map[int32]kgo.EpochOffset{}
			}
			if offsets[topic] == nil {
				offsets[topic] = map[int32]kgo.EpochOffset{}
			}
			offsets[topic][id] = eo
		}
	}
	return offsets
}

// fail stops the consumer with err, the first fatal error of its
// transactions.
func (c *Consumer) fail(err error) {
	if c.failed.CompareAndSwap(nil, &err) {
		c.stopPoll()
	}
}

// failure returns the error fail stopped the consumer with, if any.
func (c *Consumer) failure() error {
	if p := c.failed.Load(); p != nil {
		return *p
	}
	return nil
}
