package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnGroup is what a transaction needs to commit a group's offsets: the
// transactional producer, and the group client whose membership (member
// id, generation, instance id) the commit is checked against, so that a
// member the group no longer counts (a zombie) cannot commit.
type txnGroup struct {
	prod       *kgo.Client
	txnID      string
	group      *kgo.Client
	groupID    string
	instanceID string
	topicIDs   map[string][16]byte // TxnOffsetCommit v6+ names topics by id; guarded by commitMu
}

// commitOffsets adds the group's offsets to prod's open transaction
// (AddOffsetsToTxn, then TxnOffsetCommit with the group client's current
// member id and generation): they become the group's committed offsets if
// and only if the transaction commits.
func (g *txnGroup) commitOffsets(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	id, epoch, err := g.prod.ProducerID(ctx)
	if err != nil {
		return fmt.Errorf("producer id: %w", err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = g.txnID, id, epoch, g.groupID
	addResp, err := add.RequestWith(ctx, g.prod)
	if err == nil {
		err = kerr.ErrorForCode(addResp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	if err := g.lookupIDs(ctx, offsets); err != nil {
		return err
	}
	req := g.offsetRequest(id, epoch, offsets)
	resp, err := req.RequestWith(ctx, g.prod)
	if err != nil {
		return fmt.Errorf("commit offsets in transaction: %w", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				if errors.Is(err, kerr.UnknownTopicID) {
					g.topicIDs = nil // recreated: look the ids up again
				}
				return fmt.Errorf("commit offsets in transaction: %s/%d: %w", t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// offsetRequest is the TxnOffsetCommit of offsets for the group client's
// current membership.
func (g *txnGroup) offsetRequest(id int64, epoch int16, offsets map[string]map[int32]kgo.EpochOffset) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = g.txnID, g.groupID, id, epoch
	req.MemberID, req.Generation = g.group.GroupMetadata()
	if g.instanceID != "" {
		req.InstanceID = &g.instanceID
	}
	for topic, ps := range offsets {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, g.topicIDs[topic]
		for p, eo := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, eo.Offset, eo.Epoch
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// lookupIDs learns the ids of offsets' topics it does not know yet.
func (g *txnGroup) lookupIDs(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset) error {
	req := kmsg.NewPtrMetadataRequest()
	for topic := range offsets {
		if _, ok := g.topicIDs[topic]; !ok {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(topic)
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(req.Topics) == 0 {
		return nil
	}
	resp, err := req.RequestWith(ctx, g.prod)
	if err != nil {
		return fmt.Errorf("topic ids: %w", err)
	}
	if g.topicIDs == nil {
		g.topicIDs = map[string][16]byte{}
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil || t.Topic == nil {
			return fmt.Errorf("topic ids: %v: %w", t.Topic, err)
		}
		g.topicIDs[*t.Topic] = t.TopicID
	}
	return nil
}

// fatalTxn reports whether err means this process may not write or commit
// in its transactions any more: another producer took its transactional
// id, another member its instance id, or it lacks the ACL.
func fatalTxn(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.FencedInstanceID) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// abortTxn ends prod's open transaction with an abort, retrying until it
// is aborted, a fatal error, or stop is closed.
func abortTxn(prod *kgo.Client, stop <-chan struct{}, warn func(error, time.Duration)) error {
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := prod.AbortBufferedRecords(ctx)
		if err == nil {
			err = prod.EndTransaction(ctx, kgo.TryAbort)
		}
		cancel()
		switch {
		case err == nil:
			return nil
		case fatalTxn(err):
			return err
		}
		warn(err, pause)
		select {
		case <-stop:
			return err
		case <-time.After(pause):
		}
	}
}
