package fanout

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// Exactly once: when a transaction fails after its bodies reached the
// connector topic (here the offset commit inside it is refused, as in a
// rebalance), the bodies are aborted and the batch is done again, so a
// read_committed consumer sees every body once — while the log holds the
// aborted copies too, which a stage committing outputs and offsets apart
// would have delivered twice.
func TestFanoutExactlyOnceAcrossAbort(t *testing.T) {
	conns := []*pipeline.Connector{{Name: "all", URL: exampleURL}}
	topics := pipeline.Topics{Prefix: "x"}
	c, kc, prod := fanoutCluster(t, topics, conns)
	refused := kafkatest.RefuseTxnOffsetCommit(c, kerr.RebalanceInProgress)
	const n = 20
	produceTouches(t, prod, topics.Events(), n)
	fanOutUntilCommitted(t, Config{Connectors: conns, Topics: topics, Kafka: kc}, prod, n)
	if refused() != 1 {
		t.Fatalf("the offset commit was refused %d times; the test needs one abort", refused())
	}
	committed := bodies(t, prod, topics.Connector("all"), kgo.ReadCommitted())
	all := bodies(t, prod, topics.Connector("all"), kgo.ReadUncommitted())
	if all <= n {
		t.Errorf("the log holds %d bodies, want more than %d (the aborted copies)", all, n)
	}
	if committed != n {
		t.Errorf("a read_committed consumer sees %d bodies, want each of the %d once", committed, n)
	}
}

// waitCommitted polls until group committed offset n on topic's partition 0.
func waitCommitted(t *testing.T, cl *kgo.Client, group, topic string, n int64) {
	t.Helper()
	adm := kadm.NewClient(cl)
	for deadline := time.Now().Add(20 * time.Second); ; {
		offs, err := adm.FetchOffsets(context.Background(), group)
		if o, ok := offs.Lookup(topic, 0); err == nil && ok && o.At == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not commit offset %d on %s: %v", group, n, topic, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bodies counts the records of topic's partition 0 that a consumer with
// iso sees, up to a sentinel written now (earlier calls' are skipped).
func bodies(t *testing.T, prod *kgo.Client, topic string, iso kgo.IsolationLevel) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mine := "sentinel-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(mine)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(prod.OptValue(kgo.SeedBrokers).([]string)...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	count := 0
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s up to the sentinel: %v", topic, ctx.Err())
		}
		for _, r := range fs.Records() {
			switch v := string(r.Value); {
			case v == mine:
				return count
			case !strings.HasPrefix(v, "sentinel-"):
				count++
			}
		}
	}
}
