package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Options configure a bench run. Zero sizes take the defaults of Defaults,
// or of QuickDefaults when Quick is set.
type Options struct {
	// Executable is the hookpipe binary run as the pipeline under test.
	// Default: os.Executable().
	Executable string
	// Brokers are real Kafka seed brokers. Default: none, an embedded kfake
	// broker is started in this process.
	Brokers []string
	// Security is the TLS and SASL for Brokers; the bench's own client and
	// every pipeline subprocess (through HOOKPIPE_KAFKA_* variables) use it.
	Security kafka.Security
	// Scenarios lists the scenarios to run, by name. Default: all of
	// ScenarioNames, in that order.
	Scenarios []string
	// Quick selects QuickDefaults: a run of under a minute.
	Quick bool
	// Sizes are the scenarios' sizes.
	Sizes Sizes
	// Partitions of the topics the pipeline creates. Default 12.
	Partitions int
	// TLS makes the receivers serve HTTPS with a CA made for the run, which
	// the connectors trust through tls { ca_file }; the scenarios that
	// compare transports run once over HTTP/1.1 and once over HTTP/2
	// (ALPN), the others over HTTP/1.1.
	TLS bool
	// MaxInFlightTotal is the pipeline's --max-in-flight-total; 0 keeps
	// its default (1024), or Sizes.MaxInFlight when that is larger, so
	// that the total does not cap a connector's max_in_flight.
	MaxInFlightTotal int
	// ProfileDir, when set, makes every pipeline subprocess write CPU and
	// heap profiles there, named <scenario>-<run>.{cpu,heap}.pprof.
	ProfileDir string
	// Version is the hookpipe version reported with each result.
	Version string
	// Progress receives one line per step. Default: discarded.
	Progress io.Writer
}

// Bench is one bench run: its broker, its temporary directory and the
// machine it measures on.
type Bench struct {
	opts    Options
	brokers []string
	machine Machine
	tmp     string
	adm     *kadm.Client
	client  *http.Client
	ca      *runCA             // the run's CA when opts.TLS; else nil
	ceiling map[string]float64 // events/s of the ceiling by transport, once it ran
}

// Run runs the selected scenarios one after another and returns their
// results. A scenario that fails is reported in its Result's Error and the
// next one runs; Run returns an error only when the bench cannot start.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	b, closeFn, err := setup(opts)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var out []Result
	for _, name := range b.opts.Scenarios {
		if ctx.Err() != nil {
			break
		}
		b.progress("scenario %s", name)
		before := loadAvg()
		res := scenarioByName(name).run(ctx, b)
		res.Scenario, res.Machine = name, b.machine
		res.LoadBefore, res.LoadAfter = before, loadAvg()
		if res.What == "" {
			res.What = scenarioByName(name).what
		}
		out = append(out, res)
	}
	return out, ctx.Err()
}

// setup fills defaults, starts the broker when needed and returns the
// function that releases everything.
func setup(opts Options) (*Bench, func(), error) {
	if err := opts.fill(); err != nil {
		return nil, nil, err
	}
	b := &Bench{opts: opts, brokers: opts.Brokers, client: ingestClient(opts.Sizes.Posters), ceiling: map[string]float64{}}
	var closers []func()
	release := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	tmp, err := os.MkdirTemp("", "hookpipe-bench-")
	if err != nil {
		return nil, nil, err
	}
	b.tmp = tmp
	closers = append(closers, func() { os.RemoveAll(tmp) })
	if opts.TLS {
		if b.ca, err = newRunCA(tmp); err != nil {
			release()
			return nil, nil, err
		}
	}
	broker := "real Kafka at " + strings.Join(opts.Brokers, ",")
	if len(b.brokers) == 0 {
		c, err := kafka.StartEmbedded(kafka.EmbeddedConfig{Listen: "127.0.0.1:0"})
		if err != nil {
			release()
			return nil, nil, err
		}
		closers = append(closers, c.Close)
		b.brokers, broker = c.ListenAddrs(), "embedded kfake (in the bench process)"
	}
	kc := kafka.Config{Brokers: b.brokers, Security: opts.Security}
	if err := kc.Preflight(context.Background()); err != nil {
		release()
		return nil, nil, err
	}
	cl, err := kc.NewClient()
	if err != nil {
		release()
		return nil, nil, err
	}
	closers = append(closers, cl.Close)
	b.adm = kadm.NewClient(cl)
	b.machine = newMachine(broker, opts.Version)
	return b, release, nil
}

// ingestClient returns the load generator's client: one kept-alive
// connection per poster, so that no request pays for a new connection.
func ingestClient(posters int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = posters, posters
	return &http.Client{Transport: t, Timeout: time.Minute}
}

func (o *Options) fill() error {
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the hookpipe binary: %w", err)
		}
		o.Executable = exe
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = ScenarioNames()
	}
	for _, s := range o.Scenarios {
		if scenarioByName(s) == nil {
			return fmt.Errorf("unknown scenario %q (scenarios are %s)", s, strings.Join(ScenarioNames(), ", "))
		}
	}
	if o.Partitions <= 0 {
		o.Partitions = 12
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	def := Defaults()
	if o.Quick {
		def = QuickDefaults()
	}
	o.Sizes = o.Sizes.withDefaults(def)
	return o.Sizes.check()
}

func (b *Bench) progress(format string, args ...any) {
	fmt.Fprintf(b.opts.Progress, "bench: "+format+"\n", args...)
}

// cleanup deletes the topics and consumer groups of a topic prefix, so
// that a run on a real Kafka leaves nothing behind; it reports what it
// could not delete on Progress.
func (b *Bench) cleanup(prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := b.adm.ListTopics(ctx)
	if err == nil {
		var del []string
		for _, t := range topics.Names() {
			if strings.HasPrefix(t, prefix+".") {
				del = append(del, t)
			}
		}
		var resp kadm.DeleteTopicResponses
		if len(del) > 0 {
			resp, err = b.adm.DeleteTopics(ctx, del...)
		}
		err = errors.Join(err, resp.Error())
	}
	if err != nil {
		b.progress("  could not delete the topics %s.*: %v", prefix, err)
	}
	groups, err := b.adm.ListGroups(ctx)
	if err == nil {
		var resp kadm.DeleteGroupResponses
		if del := slices.DeleteFunc(groups.Groups(), func(g string) bool { return !strings.HasPrefix(g, prefix+".") }); len(del) > 0 {
			resp, err = b.adm.DeleteGroups(ctx, del...)
		}
		err = errors.Join(err, resp.Error())
	}
	if err != nil {
		b.progress("  could not delete the groups %s.*: %v", prefix, err)
	}
}

// fanoutLag returns the records of prefix's events topic not yet committed
// by its fanout group.
func (b *Bench) fanoutLag(ctx context.Context, prefix string) (int64, error) {
	topics := pipeline.Topics{Prefix: prefix}
	lags, err := b.adm.Lag(ctx, topics.FanoutGroup())
	if err != nil {
		return 0, err
	}
	l, ok := lags[topics.FanoutGroup()]
	if !ok {
		return 0, errors.New("no lag for the fanout group")
	}
	if l.Error() != nil {
		return 0, l.Error()
	}
	return l.Lag.Total(), nil
}

// Machine describes where a result was measured.
type Machine struct {
	// Cores is runtime.NumCPU(); GOMAXPROCS is the bench's own.
	Cores      int `json:"cores"`
	GOMAXPROCS int `json:"gomaxprocs"`
	// CPU is the model name from /proc/cpuinfo, when readable.
	CPU string `json:"cpu,omitempty"`
	// OS and Arch are runtime.GOOS and runtime.GOARCH.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Broker says which Kafka the pipeline ran on.
	Broker string `json:"broker"`
	// GoVersion is runtime.Version() of the bench binary.
	GoVersion string `json:"goVersion"`
	// Hookpipe is the hookpipe version.
	Hookpipe string `json:"hookpipe"`
	// Date is when the run started, RFC 3339 UTC.
	Date string `json:"date"`
}

func newMachine(broker, version string) Machine {
	return Machine{
		Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), CPU: cpuModel(),
		OS: runtime.GOOS, Arch: runtime.GOARCH, Broker: broker,
		GoVersion: runtime.Version(), Hookpipe: version,
		Date: time.Now().UTC().Format(time.RFC3339),
	}
}

// loadAvg returns the 1-minute load average, or 0 when unreadable.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, _ := strconv.ParseFloat(f, 64)
	return v
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
