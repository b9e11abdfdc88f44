// Package kafkatest holds helpers for tests that run on kfake, the
// embedded broker: faults a real broker shows only under failure.
package kafkatest

import (
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// RefuseProduce makes c answer the next n produce requests (every one
// when n < 0) with err, for each partition, until stop is called. With a
// non-retriable err such as kerr.InvalidRecord the client fails those
// records at once. Safe to call stop more than once.
func RefuseProduce(c *kfake.Cluster, err *kerr.Error, n int) (stop func()) {
	var left atomic.Int64
	left.Store(int64(n))
	var stopped atomic.Bool
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if stopped.Load() || left.Add(-1) < 0 && n >= 0 {
			return nil, nil, false
		}
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, err.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return func() { stopped.Store(true) }
}

// RefuseTxnOffsetCommit makes c answer the next TxnOffsetCommit request
// with err for each partition (kerr.RebalanceInProgress or
// kerr.IllegalGeneration: what a group answers once a rebalance moved it
// on), so the producer's transaction must abort; later requests are
// answered as usual. refused reports how many requests were refused (0 or
// 1) and is safe to call concurrently with the cluster.
func RefuseTxnOffsetCommit(c *kfake.Cluster, err *kerr.Error) (refused func() int32) {
	var n atomic.Int32
	c.ControlKey(int16(kmsg.TxnOffsetCommit), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		n.Add(1) // kfake drops this function after it answered once
		req := kreq.(*kmsg.TxnOffsetCommitRequest)
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewTxnOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, err.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	return n.Load
}
