package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// newProduceCluster starts a broker with topic "out" and returns a client.
func newProduceCluster(t *testing.T) (*kfake.Cluster, Config, *kgo.Client) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kc := Config{Brokers: c.ListenAddrs()}
	cl, err := kc.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return c, kc, cl
}

func records(n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "out", Key: []byte(strconv.Itoa(i % 7)), Value: []byte(strconv.Itoa(i))}
	}
	return recs
}

// Records whose write Kafka refused are written again after a pause, and
// ProduceAcked returns only when every one is stored; each exactly once,
// since only the failed ones are produced again.
func TestProduceAckedRetriesFailedRecords(t *testing.T) {
	c, kc, cl := newProduceCluster(t)
	kafkatest.RefuseProduce(c, kerr.InvalidRecord, 2)
	var logs strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 300
	if err := ProduceAcked(ctx, cl, slog.New(slog.NewTextHandler(&logs, nil)), records(n)...); err != nil {
		t.Fatalf("ProduceAcked: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "produce failed, retrying") || !strings.Contains(logs.String(), "INVALID_RECORD") {
		t.Errorf("the refused writes were not logged with their cause: %q", logs.String())
	}
	seen := map[string]int{}
	for _, r := range kafkatest.ReadN(t, kc.Brokers, n, "out") {
		seen[string(r.Value)]++
	}
	for i := range n {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("record %d stored %d times, want once", i, seen[strconv.Itoa(i)])
		}
	}
}

// When ctx ends before Kafka takes the records, ProduceAcked returns an
// error that wraps ctx's and counts the records not acknowledged.
func TestProduceAckedGivesUpWhenCtxEnds(t *testing.T) {
	c, _, cl := newProduceCluster(t)
	kafkatest.RefuseProduce(c, kerr.InvalidRecord, -1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := ProduceAcked(ctx, cl, slog.New(slog.NewTextHandler(io.Discard, nil)), records(10)...)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "10 of 10 records not acknowledged") {
		t.Fatalf("err = %v, want 10 of 10 not acknowledged, wrapping the deadline", err)
	}
	if err := ProduceAcked(ctx, cl, slog.Default()); err != nil {
		t.Errorf("no records: %v", err)
	}
}

// BenchmarkProduceAcked writes batches of 100 records and waits for all.
func BenchmarkProduceAcked(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, err := Config{Brokers: c.ListenAddrs()}.NewClient()
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := ProduceAcked(context.Background(), cl, slog.Default(), records(100)...); err != nil {
			b.Fatal(err)
		}
	}
}
