package fanout

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka/kafkatest"
)

// A body that Kafka refuses (a non-retriable produce error) aborts its
// transaction: the group's offset does not pass the batch until every
// body is written, so a read_committed consumer sees each of them once.
func TestFanoutRefusedBodyAborts(t *testing.T) {
	conns := []*pipeline.Connector{{Name: "all", URL: exampleURL}}
	topics := pipeline.Topics{Prefix: "y"}
	c, kc, prod := fanoutCluster(t, topics, conns)
	const n = 20
	produceTouches(t, prod, topics.Events(), n)
	stop := kafkatest.RefuseProduce(c, kerr.InvalidRecord, 1) // fanout's first produce request
	defer stop()
	fanOutUntilCommitted(t, Config{Connectors: conns, Topics: topics, Kafka: kc}, prod, n)
	if got := bodies(t, prod, topics.Connector("all"), kgo.ReadCommitted()); got != n {
		t.Errorf("a read_committed consumer sees %d bodies, want each of the %d once", got, n)
	}
}
