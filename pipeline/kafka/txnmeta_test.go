package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// A transactional producer whose batch the broker refuses with
// CONCURRENT_TRANSACTIONS (what Apache Kafka 4.x answers when the
// previous transaction's markers are late) produces it again without
// waiting out kgo's default 5 s between metadata refreshes: the
// transaction's records are acknowledged well within that time.
func TestTxnProducerRetriesConcurrentTransactionsSoon(t *testing.T) {
	c, kc, _ := newProduceCluster(t)
	cl, err := kc.NewClient(append(TxnProducerOpts(), kgo.TransactionalID("txnmeta-test"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A first transaction loads the metadata of "out", as a running
	// producer has: the refresh a refusal asks for is then rate-limited.
	commitOne(ctx, t, cl)
	kafkatest.RefuseProduce(c, kerr.ConcurrentTransactions, 1)
	// kgo's default MetadataMinAge is 5 s: a deadline of half that fails
	// the produce without TxnProducerOpts and leaves it 25 times the
	// 100 ms it needs with them.
	short, cancelShort := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancelShort()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(short, records(30)...).FirstErr(); err != nil {
		t.Fatalf("a batch refused with CONCURRENT_TRANSACTIONS was not produced again in time: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// commitOne writes one record in a committed transaction.
func commitOne(ctx context.Context, t *testing.T, cl *kgo.Client) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, records(1)...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
}
