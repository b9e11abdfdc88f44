package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// The suite's broker is chosen by HOOKPIPE_TEST_BROKER:
//
//	kfake           the embedded Kafka-protocol broker (kafka.StartEmbedded)
//	kafka           the real Kafka that KAFKA_BROKERS names (CI: kafka-local.sh)
//	testcontainers  a Kafka container started here, from KAFKA_IMAGE
//
// A kind that is asked for and cannot be had fails the suite; it never falls
// back to another. Unset, KAFKA_BROKERS selects kafka; else testcontainers
// when a Docker engine answers and KAFKA_IMAGE is there (or can be pulled);
// else kfake. Either way the first line of output names the broker and why
// the others were not used.
const (
	kindKfake          = "kfake"
	kindKafka          = "kafka"
	kindTestcontainers = "testcontainers"

	// defaultKafkaImage is the official image; `make kafka-image` builds
	// hookpipe/kafka:4.1.1, which takes the same environment, for machines
	// without a registry.
	defaultKafkaImage = "apache/kafka:4.1.1"
	localKafkaImage   = "hookpipe/kafka:4.1.1"
	// defaultTCPort is the host port (on 127.0.0.1 only) of the container's
	// listener; the same number inside, so the advertised address serves
	// both. HOOKPIPE_TC_KAFKA_PORT changes it.
	defaultTCPort = "29392"
)

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
	// ctr is set for testcontainers, whose container tests may stop and start.
	ctr testcontainers.Container
}

var suiteBroker broker

func TestMain(m *testing.M) {
	b, why, stop, err := chooseBroker()
	if err != nil {
		fmt.Printf("integration suite: FAIL: no broker: %v\n", err)
		os.Exit(1)
	}
	suiteBroker = b
	fmt.Printf("integration suite: running on %s (%s), %s — %s\n", b.kind, strings.Join(b.addrs, ","), b.security, why)
	// The containers are removed here, not by Ryuk, even on Ctrl-C.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		stop()
		removeBinary()
		fmt.Printf("integration suite: stopped by %v\n", s)
		os.Exit(2)
	}()
	code := m.Run()
	signal.Stop(sigs)
	stop()
	removeBinary()
	os.Exit(code)
}

// chooseBroker returns the broker, one sentence on why the other kinds were
// not used, and how to stop it.
func chooseBroker() (broker, string, func(), error) {
	want := os.Getenv("HOOKPIPE_TEST_BROKER")
	env := os.Getenv("KAFKA_BROKERS")
	sec, err := kafka.SecurityFromEnv(os.Getenv)
	if err != nil {
		return broker{}, "", nil, err
	}
	if env == "" && sec != (kafka.Security{}) {
		return broker{}, "", nil, fmt.Errorf("HOOKPIPE_KAFKA_* security settings (%s) are set but KAFKA_BROKERS is not; they apply to the broker KAFKA_BROKERS names", sec)
	}
	switch want {
	case kindKafka:
		if env == "" {
			return broker{}, "", nil, errors.New("HOOKPIPE_TEST_BROKER=kafka needs KAFKA_BROKERS (integration/kafka-local.sh up prints it)")
		}
		return realBroker(env, sec, "HOOKPIPE_TEST_BROKER=kafka")
	case kindKfake:
		return embeddedBroker("HOOKPIPE_TEST_BROKER=kfake; not KAFKA_BROKERS or testcontainers")
	case kindTestcontainers:
		img, why, ok := kafkaImage()
		if !ok {
			return broker{}, "", nil, fmt.Errorf("HOOKPIPE_TEST_BROKER=testcontainers: %s", why)
		}
		return containerBroker(img, "HOOKPIPE_TEST_BROKER=testcontainers; not kfake or KAFKA_BROKERS")
	case "":
	default:
		return broker{}, "", nil, fmt.Errorf("HOOKPIPE_TEST_BROKER=%q: want kfake, kafka or testcontainers", want)
	}
	if env != "" {
		return realBroker(env, sec, "KAFKA_BROKERS is set (HOOKPIPE_TEST_BROKER unset)")
	}
	img, why, ok := kafkaImage()
	if ok {
		return containerBroker(img, "HOOKPIPE_TEST_BROKER and KAFKA_BROKERS unset, and a Docker engine answers; not kfake")
	}
	return embeddedBroker("no KAFKA_BROKERS, and no testcontainers Kafka: " + why)
}

func realBroker(env string, sec kafka.Security, why string) (broker, string, func(), error) {
	b := broker{kind: "real Kafka from KAFKA_BROKERS", addrs: strings.Split(env, ","), security: sec}
	return b, why + "; not kfake or testcontainers", func() {}, nil
}

func embeddedBroker(why string) (broker, string, func(), error) {
	dir, err := os.MkdirTemp("", "hookpipe-kfake-")
	if err != nil {
		return broker{}, "", nil, err
	}
	c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		return broker{}, "", nil, err
	}
	b := broker{kind: "embedded kfake", addrs: c.ListenAddrs(), embedded: c, dataDir: dir}
	return b, why, func() { suiteBroker.embedded.Close(); os.RemoveAll(dir) }, nil
}

// tcLogs collects testcontainers' own log lines, printed only when starting
// the container fails, so that the suite's first line is its own.
var tcLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

type tcLogger struct{}

func (tcLogger) Printf(format string, v ...any) {
	tcLogs.mu.Lock()
	defer tcLogs.mu.Unlock()
	fmt.Fprintf(&tcLogs.buf, format+"\n", v...)
}

func init() {
	tclog.SetDefault(tcLogger{})
	// Containers publish on 127.0.0.1 only; inside a container (/.dockerenv)
	// testcontainers would otherwise take the default gateway as the host.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
}

// kafkaImage says which Kafka image testcontainers runs: KAFKA_IMAGE, else
// the official image when it is there or can be pulled, else the locally
// built hookpipe/kafka image when it is there. Without a Docker engine, or
// without any of these, it says why.
func kafkaImage() (img, why string, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ryukSetting(ctx)
	p, err := dockerProvider(ctx)
	if err != nil {
		return "", "no Docker engine answers (" + firstLine(err.Error()) + "); integration/docker-local.sh up starts one", false
	}
	defer p.Close()
	candidates := []string{os.Getenv("KAFKA_IMAGE")}
	if candidates[0] == "" {
		candidates = []string{defaultKafkaImage, localKafkaImage}
	}
	var missing []string
	for _, c := range candidates {
		if _, err := p.Client().ImageInspect(ctx, c); err == nil {
			return c, "", true
		}
		if err := p.PullImage(ctx, c); err == nil {
			return c, "", true
		}
		missing = append(missing, c)
	}
	return "", fmt.Sprintf("a Docker engine answers but the image %s is not there and cannot be pulled; `make kafka-image` builds %s without a registry (then KAFKA_IMAGE=%s)",
		strings.Join(missing, " or "), localKafkaImage, localKafkaImage), false
}

// ryukImage is the reaper testcontainers-go v0.44 starts.
const ryukImage = "testcontainers/ryuk:0.14.0"

// ryukSetting turns Ryuk off when its image is neither there nor pullable
// (no registry); the suite removes its container itself in any case. It runs
// before the first provider, which reads the setting once.
func ryukSetting(ctx context.Context) {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") != "" {
		return
	}
	if exec.CommandContext(ctx, "docker", "image", "inspect", ryukImage).Run() == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if exec.CommandContext(pctx, "docker", "pull", "-q", ryukImage).Run() == nil {
		return
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ryukOffReason = ryukImage + " cannot be pulled"
}

var ryukOffReason = "TESTCONTAINERS_RYUK_DISABLED=true"

func dockerProvider(ctx context.Context) (p *testcontainers.DockerProvider, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker provider: %v", r)
		}
	}()
	p, err = testcontainers.NewDockerProvider()
	if err != nil {
		return nil, err
	}
	if err := p.Health(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// containerBroker starts a single-node KRaft Kafka from img, configured
// through the official image's KAFKA_* environment, on 127.0.0.1:port.
func containerBroker(img, why string) (broker, string, func(), error) {
	port := os.Getenv("HOOKPIPE_TC_KAFKA_PORT")
	if port == "" {
		port = defaultTCPort
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var id [16]byte
	_, _ = rand.Read(id[:])
	addr := "127.0.0.1:" + port
	req := testcontainers.GenericContainerRequest{
		Started: true,
		ContainerRequest: testcontainers.ContainerRequest{
			Image: img,
			Env: map[string]string{
				"CLUSTER_ID":                                             base64.RawURLEncoding.EncodeToString(id[:]),
				"KAFKA_NODE_ID":                                          "1",
				"KAFKA_PROCESS_ROLES":                                    "broker,controller",
				"KAFKA_CONTROLLER_QUORUM_VOTERS":                         "1@localhost:9093",
				"KAFKA_LISTENERS":                                        "PLAINTEXT://:" + port + ",CONTROLLER://:9093",
				"KAFKA_ADVERTISED_LISTENERS":                             "PLAINTEXT://" + addr,
				"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
				"KAFKA_INTER_BROKER_LISTENER_NAME":                       "PLAINTEXT",
				"KAFKA_CONTROLLER_LISTENER_NAMES":                        "CONTROLLER",
				"KAFKA_LOG_DIRS":                                         "/tmp/kraft-combined-logs",
				"KAFKA_NUM_PARTITIONS":                                   "1",
				"KAFKA_DEFAULT_REPLICATION_FACTOR":                       "1",
				"KAFKA_MIN_INSYNC_REPLICAS":                              "1",
				"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                        "false",
				"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":                 "1",
				"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":                     "10",
				"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":         "1",
				"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":                    "1",
				"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
				"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR":            "1",
				"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":                 "0",
				"KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS":            "6000",
				"KAFKA_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS":         "1000",
				"KAFKA_LOG_RETENTION_CHECK_INTERVAL_MS":                  "10000",
				"KAFKA_LOG_SEGMENT_DELETE_DELAY_MS":                      "1000",
				"KAFKA_HEAP_OPTS":                                        "-Xms256m -Xmx512m",
			},
			ExposedPorts: []string{port + "/tcp"},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{
					network.MustParsePort(port + "/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port}},
				}
			},
			WaitingFor: wait.ForLog("Kafka Server started").WithStartupTimeout(3 * time.Minute),
			Labels:     map[string]string{"hookpipe.test": "integration"},
		},
	}
	c, err := testcontainers.GenericContainer(ctx, req)
	stop := func() {
		if c != nil {
			_ = testcontainers.TerminateContainer(c)
		}
	}
	if err != nil {
		stop()
		return broker{}, "", nil, fmt.Errorf("testcontainers Kafka from %s on %s did not start: %w\n%s", img, addr, err, tcOutput())
	}
	if err := waitKafka(ctx, []string{addr}); err != nil {
		stop()
		return broker{}, "", nil, fmt.Errorf("testcontainers Kafka from %s started but %s does not serve metadata: %w", img, addr, err)
	}
	ryuk := "Ryuk on"
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "true" {
		ryuk = "Ryuk off (" + ryukOffReason + "), the suite removes the container"
	}
	b := broker{kind: "testcontainers " + img, addrs: []string{addr}, ctr: c}
	return b, why + "; " + ryuk, stop, nil
}

func tcOutput() string {
	tcLogs.mu.Lock()
	defer tcLogs.mu.Unlock()
	return tcLogs.buf.String()
}

// waitKafka waits until the broker at addrs answers a metadata request.
func waitKafka(ctx context.Context, addrs []string) error {
	kc, err := kafka.Config{Brokers: addrs, ClientID: "hookpipe-it"}.NewClient()
	if err != nil {
		return err
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := adm.BrokerMetadata(rctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// brokerStopStart returns how to stop and start the suite's only broker,
// for the tests that take it away: the kafka-local.sh node, or the
// testcontainers container; else why it cannot.
func brokerStopStart() (stop, start func() error, why string) {
	if suiteBroker.ctr != nil {
		stop = func() error {
			d := 20 * time.Second
			return suiteBroker.ctr.Stop(context.Background(), &d)
		}
		start = func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := suiteBroker.ctr.Start(ctx); err != nil {
				return err
			}
			return waitKafka(ctx, suiteBroker.addrs)
		}
		return stop, start, ""
	}
	if ok, why := localCluster(1); !ok {
		return nil, nil, "needs the single-node kafka-local.sh broker as KAFKA_BROKERS or a testcontainers broker, to stop and start it: " + why
	}
	stop = func() error { _, err := kafkaLocal("", "stop-node", "0"); return err }
	start = func() error { _, err := kafkaLocal("", "start-node", "0"); return err }
	return stop, start, ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
