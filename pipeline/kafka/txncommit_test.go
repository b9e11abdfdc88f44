package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// CommitTxn tells a commit from an abort the client chose itself: kgo
// ends a transaction whose produces all failed with an abort even when
// asked to commit, and EndTransaction says nothing of it. The same path
// was seen, rarely, after an acknowledged produce; CommitTxn reports it
// as ErrTxnAborted, and a normal commit as nil.
func TestCommitTxnReportsAbortInsteadOfCommit(t *testing.T) {
	c, kc, _ := newProduceCluster(t)
	cl, err := kc.NewClient(append(TxnProducerOpts(), kgo.TransactionalID("commit-test"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	begin := func() {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
	}

	begin()
	if err := cl.ProduceSync(ctx, records(3)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := CommitTxn(ctx, cl); err != nil {
		t.Fatalf("a transaction whose records were acknowledged: %v, want nil", err)
	}

	stop := kafkatest.RefuseProduce(c, kerr.InvalidRecord, -1)
	begin()
	if err := cl.ProduceSync(ctx, records(3)...).FirstErr(); err == nil {
		t.Fatal("the refused produce succeeded")
	}
	if err := CommitTxn(ctx, cl); !errors.Is(err, ErrTxnAborted) {
		t.Fatalf("a commit kgo turned into an abort: %v, want ErrTxnAborted", err)
	}
	stop()

	begin() // the client goes on, and the next commit is reported as one
	if err := cl.ProduceSync(ctx, records(1)...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := CommitTxn(ctx, cl); err != nil {
		t.Fatalf("the next transaction: %v, want nil", err)
	}
}
