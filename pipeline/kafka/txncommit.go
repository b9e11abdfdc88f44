package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrTxnAborted is wrapped by CommitTxn's error when the client ended the
// transaction with an abort although it was asked to commit: nothing of
// the transaction is visible to read_committed consumers.
var ErrTxnAborted = errors.New("the kafka client aborted the transaction instead of committing it")

// kgoSilentAbort begins the message kgo (v1.22.3) logs, at Info, when
// EndTransaction(TryCommit) aborts because kgo believes no produce of the
// transaction succeeded; EndTransaction then returns nil. That belief can
// be wrong: a transaction whose produce was the client's first to a topic
// was now and then acknowledged by the broker and still aborted (3 in
// 1,750 fresh producers on kfake, 5 in 1,115 on Apache Kafka 4.1.1). A
// caller taking that nil for a commit would ack work that is not stored.
const kgoSilentAbort = "no produce succeeded in this transaction but produces were attempted"

// silentAborts holds the transactional ids whose last EndTransaction kgo
// turned into an abort (see kgoSilentAbort), until CommitTxn reads them.
var silentAborts sync.Map

// CommitTxn commits cl's open transaction, as cl.EndTransaction(ctx,
// kgo.TryCommit) does, and returns an error wrapping ErrTxnAborted when
// the client aborted it instead. It sees that only for clients made by
// Config (NewClient or Options), which log through txnWatch. Calls for one
// transactional id must not overlap, as EndTransaction's must not.
func CommitTxn(ctx context.Context, cl *kgo.Client) error {
	id, _ := cl.OptValue(kgo.TransactionalID).(string)
	silentAborts.Delete(id)
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return err
	}
	if _, aborted := silentAborts.LoadAndDelete(id); aborted {
		return fmt.Errorf("transactional id %s: %w", id, ErrTxnAborted)
	}
	return nil
}

// txnWatch is the kgo logger of every client Config makes: it notes the
// transactional id of a commit kgo turned into an abort, and passes what
// inner (nil: nothing) asks for on to it. kgo calls it from any goroutine.
type txnWatch struct{ inner kgo.Logger }

// Level asks kgo for Info messages, where the abort is logged.
func (w txnWatch) Level() kgo.LogLevel {
	if w.inner != nil && w.inner.Level() > kgo.LogLevelInfo {
		return w.inner.Level()
	}
	return kgo.LogLevelInfo
}

// Log notes a silent abort and passes the message on to inner.
func (w txnWatch) Log(level kgo.LogLevel, msg string, kv ...any) {
	if strings.HasPrefix(msg, kgoSilentAbort) {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "transactional_id" {
				silentAborts.Store(fmt.Sprint(kv[i+1]), struct{}{})
			}
		}
	}
	if w.inner != nil && level <= w.inner.Level() {
		w.inner.Log(level, msg, kv...)
	}
}
