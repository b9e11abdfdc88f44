package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages"
	"github.com/hookpipe/hookpipe/stages/ingest"
)

// embeddedTested is the most connectors the embedded broker was measured
// with (README, Kafka: three ways).
const embeddedTested = 1000

// runFlags are the flags of 'hookpipe run', with the README's defaults
// (Command line).
type runFlags struct {
	connectors, listen, brokers, embeddedListen, dataDir string
	prefix, stageList, logLevel, instanceID              string
	cpuProfile, memProfile                               string
	partitions, replication                              int
	connectorPartitions, retryPartitions                 int
	maxInFlightTotal                                     int
	maxBody                                              int64
	maxEvents, maxEventBytes, maxDepth                   int
	memLimitMiB                                          int
	noCreateTopics, watch                                bool
	security                                             *securityFlags
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.connectors, "connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "serve the HTTP API on `ADDR`")
	fs.StringVar(&f.brokers, "brokers", os.Getenv("KAFKA_BROKERS"), "Kafka seed brokers, a comma-separated `LIST` of host:port (default $KAFKA_BROKERS; none: the embedded broker)")
	fs.StringVar(&f.embeddedListen, "embedded-listen", "127.0.0.1:9092", "the embedded development broker listens on `ADDR`")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "state `DIR`: the default instance id (hookpipe-instance-id) and the embedded broker's data")
	fs.StringVar(&f.prefix, "topic-prefix", "hookpipe", "topic and consumer group names start with `P`")
	fs.IntVar(&f.partitions, "partitions", 12, "`N` partitions for topics hookpipe creates")
	fs.IntVar(&f.connectorPartitions, "connector-partitions", 0, "`N` partitions for each connector's main topic hookpipe creates (default: --partitions)")
	fs.IntVar(&f.retryPartitions, "retry-partitions", 1, "`N` partitions for each connector's retry tier and DLQ topics hookpipe creates (0: --connector-partitions)")
	fs.IntVar(&f.maxInFlightTotal, "max-in-flight-total", 0, "at most `N` webhook requests in flight at once over all connectors, per deliver and per retry stage; each connector still has its max_in_flight (default 1024, or the largest max_in_flight when larger)")
	fs.IntVar(&f.replication, "replication-factor", 1, "replication factor `N` for topics hookpipe creates")
	fs.StringVar(&f.stageList, "stages", strings.Join(stages.StageNames(), ","), "the stages to run in this process, a comma-separated `LIST`")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&f.instanceID, "instance-id", os.Getenv("HOOKPIPE_INSTANCE_ID"), "static consumer-group member `ID`, unique per process, so that a restarted process takes its partitions back at once (default $HOOKPIPE_INSTANCE_ID, else the id kept in --data-dir)")
	fs.Int64Var(&f.maxBody, "max-body-bytes", 4<<20, "largest ingest request body, `N` bytes")
	fs.IntVar(&f.maxEvents, "max-events", 1000, "at most `N` events in one ingest request")
	fs.IntVar(&f.maxEventBytes, "max-event-bytes", 64<<10, "largest single event (envelope) in an ingest request, `N` bytes")
	fs.IntVar(&f.maxDepth, "max-depth", 32, "deepest JSON nesting `N` of one event")
	fs.IntVar(&f.memLimitMiB, "memory-limit-mib", 256, "soft limit of the Go runtime's memory, `N` MiB: the GC works harder near it instead of letting garbage double the heap (0: none; ignored when GOMEMLIMIT is set, and with the embedded broker, whose data lives in the process)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to `FILE` (for 'hookpipe bench')")
	fs.StringVar(&f.memProfile, "memprofile", "", "write a heap profile at the end of the run to `FILE`")
	fs.BoolVar(&f.noCreateTopics, "no-create-topics", false, "do not create topics or correct their retention: only verify them, and exit saying what is wrong (for a principal without topic admin rights)")
	fs.BoolVar(&f.watch, "watch", false, "reload the connectors directory when its files change (as on SIGHUP): polled every second, applied once a change held still for a second")
	f.security = bindKafkaSecurity(fs)
}

func (f *runFlags) check() error {
	switch {
	case f.partitions < 1 || f.partitions > 10000:
		return fmt.Errorf("--partitions %d: want 1 to 10000", f.partitions)
	case f.connectorPartitions < 0 || f.connectorPartitions > 10000:
		return fmt.Errorf("--connector-partitions %d: want 1 to 10000, or 0 for --partitions", f.connectorPartitions)
	case f.retryPartitions < 0 || f.retryPartitions > 10000:
		return fmt.Errorf("--retry-partitions %d: want 1 to 10000, or 0 for --connector-partitions", f.retryPartitions)
	case f.maxInFlightTotal < 0 || f.maxInFlightTotal > 1_000_000:
		return fmt.Errorf("--max-in-flight-total %d: want 1 to 1000000, or 0 for the default", f.maxInFlightTotal)
	case f.replication < 1 || f.replication > 32:
		return fmt.Errorf("--replication-factor %d: want 1 to 32", f.replication)
	case f.maxBody < 1024:
		return fmt.Errorf("--max-body-bytes %d: want at least 1024", f.maxBody)
	case f.maxEvents < 1:
		return fmt.Errorf("--max-events %d: want at least 1", f.maxEvents)
	case f.maxEventBytes < 256:
		return fmt.Errorf("--max-event-bytes %d: want at least 256", f.maxEventBytes)
	case f.maxDepth < 4 || f.maxDepth > 1000:
		return fmt.Errorf("--max-depth %d: want 4 to 1000", f.maxDepth)
	case f.memLimitMiB < 0:
		return fmt.Errorf("--memory-limit-mib %d: want 0 (none) or more", f.memLimitMiB)
	}
	return nil
}

// gcPercent is the GC's target under the soft memory limit: the heap may
// grow to 5× the live data before a collection, until it nears the limit,
// where the limit takes over. Against Go's default of 100 it cut the CPU
// per delivered event by about 15 % (bench throughput, 50k events: 53.0–56.8
// µs to 46.0–46.4 µs) for a peak RSS of 200–245 MiB instead of 100–111 MiB.
// GOGC, when set, wins.
const gcPercent = 400

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var f runFlags
	fs := newFlagSet("run", stdout, stderr)
	f.register(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	sec, err := f.security.security()
	if err != nil {
		return err
	}
	if sec != (kafka.Security{}) && len(splitList(f.brokers)) == 0 {
		return errors.New("the --kafka-* TLS and SASL settings apply to --brokers (or KAFKA_BROKERS); the embedded development broker is plaintext")
	}
	if sec.SASLMechanism == kafka.MechanismPlain && !sec.TLSOn() {
		log.Warn("SASL PLAIN without --kafka-tls sends the Kafka password in clear text over the network")
	}
	hup := notifyHangup()
	defer signal.Stop(hup)
	conns, diags := config.LoadConnectors(f.connectors, os.LookupEnv)
	if diags.HasErrors() {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
		return errors.New("connector configuration has errors; nothing was started")
	}
	ln, err := stages.Listen(f.listen) // first: a busy address fails before any broker is contacted
	if err != nil {
		return err
	}
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() { err = errors.Join(err, stopProfiles()) }()
	release, err := f.defaultInstanceID(log)
	if err != nil {
		return err
	}
	defer release()
	brokers, stop, err := brokersFor(f, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stop()
	if len(splitList(f.brokers)) > 0 && f.memLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(f.memLimitMiB) << 20)
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(gcPercent)
		}
	}
	opts := f.options(conns, brokers, log)
	opts.Kafka.Security = sec
	opts.Listener = ln // stages.New owns it now
	opts.TopicOptions.ConnectorPartitions = int32(f.connectorPartitions)
	opts.TopicOptions.RetryPartitions = int32(f.retryPartitions)
	opts.MaxInFlightTotal = f.maxInFlightTotal
	if len(splitList(f.brokers)) == 0 && len(conns) > embeddedTested {
		log.Warn("the embedded broker was measured with up to 1,000 connectors (9,000 partitions: ready in under a second, about 6% of a core idle); beyond that use a real Kafka", "connectors", len(conns))
	}
	opts.ConnectorsDir, opts.Load = f.connectors, loader(f.connectors)
	if f.watch {
		opts.Watch = time.Second
	}
	p, err := stages.New(ctx, opts)
	if err != nil {
		return err
	}
	defer serveHangups(ctx, hup, p)()
	log.Info("hookpipe running", "version", version, "api", "http://"+p.Addr(), "stages", f.stageList, "connectors", len(conns), "brokers", strings.Join(brokers, ","), "kafka-security", sec)
	err = p.Run(ctx)
	log.Info("hookpipe stopped")
	return err
}

func (f *runFlags) options(conns []*pipeline.Connector, brokers []string, log *slog.Logger) stages.Options {
	return stages.Options{
		Connectors:   conns,
		Kafka:        kafka.Config{Brokers: brokers, Logger: log, InstanceID: f.instanceID},
		Topics:       pipeline.Topics{Prefix: f.prefix},
		TopicOptions: kafka.TopicOptions{Partitions: int32(f.partitions), ReplicationFactor: int16(f.replication)},
		Stages:       splitList(f.stageList),
		Listen:       f.listen,
		IngestToken:  os.Getenv("HOOKPIPE_INGEST_TOKEN"),
		IngestLimits: ingest.Limits{MaxBodyBytes: f.maxBody, MaxEvents: f.maxEvents, MaxEventBytes: f.maxEventBytes, MaxDepth: f.maxDepth},
		Version:      version,
		Logger:       log,

		NoCreateTopics: f.noCreateTopics,
	}
}

// defaultInstanceID sets f.instanceID, when no id was given, to the one
// kept in --data-dir (see kafka.StateInstanceID); release unlocks it. A
// directory another process holds is an error; one that cannot be written
// leaves the process a dynamic member, with a warning.
func (f *runFlags) defaultInstanceID(log *slog.Logger) (release func(), err error) {
	if f.instanceID != "" {
		return func() {}, nil
	}
	id, release, err := kafka.StateInstanceID(f.dataDir)
	switch {
	case errors.Is(err, kafka.ErrStateInUse):
		return nil, fmt.Errorf("--data-dir %s: %w", f.dataDir, err)
	case err != nil:
		log.Warn("no default instance id: joining consumer groups as a dynamic member (a restart waits for the old session to expire); set --instance-id or a writable --data-dir", "err", err)
		return func() {}, nil
	}
	f.instanceID = id
	log.Info("static group membership", "instance-id", id, "kept-in", filepath.Join(f.dataDir, kafka.InstanceIDFile))
	return release, nil
}

// brokersFor returns the brokers to use, starting the embedded broker when
// none are configured; stop closes it.
func brokersFor(f runFlags, log *slog.Logger) ([]string, func(), error) {
	if b := splitList(f.brokers); len(b) > 0 {
		return b, func() {}, nil
	}
	c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: f.embeddedListen, DataDir: f.dataDir})
	if err != nil {
		return nil, nil, err
	}
	log.Warn("no --brokers or KAFKA_BROKERS: using the embedded Kafka-protocol broker (kfake), for development only, not for production",
		"address", c.ListenAddrs()[0], "data-dir", f.dataDir)
	return c.ListenAddrs(), c.Close, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
