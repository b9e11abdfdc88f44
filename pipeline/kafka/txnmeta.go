package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TxnMetadataMinAge is the least time between two metadata requests of a
// transactional producer (kgo's MetadataMinAge; kgo's default is 5 s).
//
// kgo retries a batch refused with a retriable error, CONCURRENT_TRANSACTIONS
// among them, only after a metadata refresh, and a refresh waits until
// MetadataMinAge has passed since the last one. With transaction.version 2
// (Kafka 4.0 and later) the partition leader answers a produce with
// CONCURRENT_TRANSACTIONS when the markers of the producer's previous
// transaction are still not written after its own retries (about 100 ms
// on a busy broker): with kgo's default, every record of that
// transaction then waited up to 5 s, the p99 of 'hookpipe bench
// --scenarios isolation' with three connectors on Apache Kafka 4.1.1
// (README, "Latency per hop on Apache Kafka").
const TxnMetadataMinAge = 100 * time.Millisecond

// TxnProducerOpts are the options every transactional producer adds to
// its client's: a metadata refresh at most TxnMetadataMinAge apart, so
// that a batch refused with CONCURRENT_TRANSACTIONS is produced again
// within about that long. It costs a metadata request per refusal at
// most, and nothing while produces succeed; an error the client's
// metadata keeps showing (a missing topic) is asked again every
// TxnMetadataMinAge instead of every 5 s. Safe to call concurrently.
func TxnProducerOpts() []kgo.Opt {
	return []kgo.Opt{kgo.MetadataMinAge(TxnMetadataMinAge)}
}
