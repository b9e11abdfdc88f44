package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/testcontainers/testcontainers-go"
	tckafka "github.com/testcontainers/testcontainers-go/modules/kafka"
	"github.com/twmb/franz-go/pkg/kfake"
)

// testcontainersImage is the Kafka image the testcontainers path runs; the
// module's start script is written for Confluent's confluent-local image.
const testcontainersImage = "confluentinc/confluent-local:7.5.0"

// broker is the Kafka the suite runs on.
type broker struct {
	// kind says what it is, for the logs.
	kind string
	// addrs are its bootstrap addresses.
	addrs []string
	// embedded is set for kfake, which tests may restart.
	embedded *kfake.Cluster
	dataDir  string
	// security is the TLS and SASL to reach addrs: from the
	// HOOKPIPE_KAFKA_* variables with KAFKA_BROKERS, else none.
	security kafka.Security
}

var suiteBroker broker

func TestMain(m *testing.M) {
	b, stop, err := chooseBroker()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: no broker:", err)
		os.Exit(1)
	}
	suiteBroker = b
	fmt.Printf("integration suite: running on %s (%s), %s\n", b.kind, strings.Join(b.addrs, ","), b.security)
	code := m.Run()
	stop()
	removeBinary()
	os.Exit(code)
}

func chooseBroker() (broker, func(), error) {
	sec, err := kafka.SecurityFromEnv(os.Getenv)
	if err != nil {
		return broker{}, nil, err
	}
	if env := os.Getenv("KAFKA_BROKERS"); env != "" {
		return broker{kind: "real Kafka from KAFKA_BROKERS", addrs: strings.Split(env, ","), security: sec}, func() {}, nil
	}
	if sec != (kafka.Security{}) {
		return broker{}, nil, fmt.Errorf("HOOKPIPE_KAFKA_* security settings (%s) are set but KAFKA_BROKERS is not; they apply to the broker KAFKA_BROKERS names", sec)
	}
	if b, stop, ok := tryTestcontainers(); ok {
		return b, stop, nil
	}
	dir, err := os.MkdirTemp("", "hookpipe-kfake-")
	if err != nil {
		return broker{}, nil, err
	}
	c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		return broker{}, nil, err
	}
	b := broker{kind: "embedded kfake (no KAFKA_BROKERS, no Docker)", addrs: c.ListenAddrs(), embedded: c, dataDir: dir}
	return b, func() { suiteBroker.embedded.Close(); os.RemoveAll(dir) }, nil
}

// tryTestcontainers starts a Kafka container when a Docker engine answers;
// testcontainers' own provider health check decides.
func tryTestcontainers() (broker, func(), bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if !dockerHealthy(ctx) {
		fmt.Println("integration: no Docker engine answers; skipping the testcontainers broker")
		return broker{}, nil, false
	}
	c, err := tckafka.Run(ctx, testcontainersImage, tckafka.WithClusterID("hookpipe-test"))
	if err != nil {
		fmt.Println("integration: testcontainers Kafka did not start:", err)
		if c != nil {
			_ = testcontainers.TerminateContainer(c)
		}
		return broker{}, nil, false
	}
	addrs, err := c.Brokers(ctx)
	if err != nil {
		_ = testcontainers.TerminateContainer(c)
		return broker{}, nil, false
	}
	stop := func() { _ = testcontainers.TerminateContainer(c) }
	return broker{kind: "testcontainers " + testcontainersImage, addrs: addrs}, stop, true
}

func dockerHealthy(ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	p, err := testcontainers.ProviderDocker.GetProvider()
	if err != nil {
		return false
	}
	defer p.Close()
	return p.Health(ctx) == nil
}
