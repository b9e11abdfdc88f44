package kafka

import (
	"sync/atomic"
	"time"
)

// TxnSpacing is how long a transactional producer waits after a
// transaction ended before it begins the next one.
//
// Kafka's EndTxn returns once the coordinator logged the outcome; the
// markers that end the transaction on its partitions are written after
// that, and until they are, the coordinator refuses the producer's next
// transaction its partitions (CONCURRENT_TRANSACTIONS). With
// transaction.version 2 (Kafka 4.0 and later) the partition leader then
// waits add.partitions.to.txn.retry.backoff.ms, 20 ms by default, before
// it asks again: on Apache Kafka 4.1.1, a transaction begun at once after
// the previous one stalled 22 ms in more than one of ten, and 1 ms later in
// fewer than one of a hundred (README, "Latency per hop on Apache Kafka").
const TxnSpacing = time.Millisecond

// TxnSpacer keeps a producer's transactions TxnSpacing apart. The zero
// value is ready. Ended and Wait are safe for concurrent use, but they
// only make sense for a producer whose transactions run one at a time.
type TxnSpacer struct {
	ended atomic.Int64 // UnixNano of the last end, 0 before any
}

// Ended records that a transaction ended (committed or not) now.
func (s *TxnSpacer) Ended() { s.ended.Store(time.Now().UnixNano()) }

// Wait sleeps until TxnSpacing has passed since the last Ended. It returns
// at once when it has, or before the first transaction, so a producer
// that was idle never waits.
func (s *TxnSpacer) Wait() {
	last := s.ended.Load()
	if last == 0 {
		return
	}
	if d := TxnSpacing - time.Since(time.Unix(0, last)); d > 0 {
		time.Sleep(d)
	}
}
