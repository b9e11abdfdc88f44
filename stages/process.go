package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
	"github.com/hookpipe/hookpipe/stages/ingest"
)

// stageNames are the stages --stages may name.
var stageNames = []string{"ingest", "fanout", "deliver", "retry"}

// StageNames returns the stages --stages may name, in start order.
func StageNames() []string { return slices.Clone(stageNames) }

// Options configures a Process. Zero values take the documented defaults.
type Options struct {
	// Connectors are the connectors loaded at start; Reload replaces them.
	Connectors []*pipeline.Connector
	// Kafka says how to reach Kafka.
	Kafka kafka.Config
	// Topics names topics and groups. Default prefix "hookpipe".
	Topics pipeline.Topics
	// TopicOptions says how missing topics are created.
	TopicOptions kafka.TopicOptions
	// NoCreateTopics makes New only verify the topics (kafka.VerifyTopics)
	// instead of creating and correcting them, and fail if they are wrong.
	NoCreateTopics bool
	// Stages lists the stages to run; empty means all of stageNames.
	Stages []string
	// Listen is the HTTP API's address. Default 127.0.0.1:8080; ":0"
	// picks a free port (see Addr).
	Listen string
	// Listener, when set, is the HTTP API's listener, bound by the caller
	// (Listen is then ignored). The Process owns it from New on: it is
	// closed when New fails or Run returns.
	Listener net.Listener
	// IngestToken, when set, is required as a bearer token on ingest.
	IngestToken string
	// IngestLimits bound ingest requests.
	IngestLimits ingest.Limits
	// Version goes into the webhooks' User-Agent.
	Version string
	// HTTPClient, when set, returns the client used for a connector.
	HTTPClient func(*pipeline.Connector) *http.Client
	// MaxInFlightTotal bounds the webhook requests in flight at once in
	// each of the deliver and retry stages, over all connectors (each
	// still bounded by its max_in_flight). Default 1024, or the largest
	// max_in_flight when larger.
	MaxInFlightTotal int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Load reads the connectors again for Reload; its error (the
	// diagnostics, one per line) rejects the reading. Nil: Reload fails.
	Load func() ([]*pipeline.Connector, error)
	// ConnectorsDir is the directory Load reads, hashed (DirHash) to tell
	// readings apart and, with Watch, polled for changes.
	ConnectorsDir string
	// Watch, when positive, makes Run poll ConnectorsDir's hash at this
	// interval and Reload when it changed and then held still for one
	// interval.
	Watch time.Duration
}

// Process is one hookpipe process: its HTTP API and its stages.
type Process struct {
	opts     Options
	log      *slog.Logger
	ingestTx *kgo.Client // ingest's transactional writes
	writer   *ingest.Writer
	retries  *kgo.Client // retry and DLQ writes, apart so a failing connector's flood cannot delay the healthy path
	admin    *kgo.Client
	runner   *Runner
	metrics  *metrics.Metrics
	store    *health.Store  // connectors' cluster-wide states
	health   *health.Health // connectors' gates
	server   *http.Server
	ln       net.Listener
	ready    atomic.Bool
	reloader // the configuration in force and what a reload changes
}

// New checks opts, binds the HTTP listener (first, so that a busy
// address fails before Kafka is contacted), checks that Kafka answers with
// the configured security (a *kafka.ConnectError says why not), creates or
// corrects the topics (or only verifies them, with NoCreateTopics) and builds
// the stages. Nothing is consumed or served until Run.
func New(ctx context.Context, opts Options) (*Process, error) {
	p, err := newProcess(opts)
	if err != nil {
		if opts.Listener != nil {
			opts.Listener.Close()
		}
		return nil, err
	}
	if err := p.setup(ctx); err != nil {
		p.closeClients()
		if p.ln != nil {
			p.ln.Close()
		}
		return nil, err
	}
	return p, nil
}

func newProcess(opts Options) (*Process, error) {
	if opts.Topics.Prefix == "" {
		opts.Topics.Prefix = "hookpipe"
	}
	if len(opts.Stages) == 0 {
		opts.Stages = StageNames()
	}
	for _, s := range opts.Stages {
		if !slices.Contains(stageNames, s) {
			return nil, fmt.Errorf("unknown stage %q (stages are %v)", s, stageNames)
		}
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:8080"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	p := &Process{opts: opts, log: opts.Logger, metrics: metrics.NewMetrics(), ln: opts.Listener}
	p.live = NewLive(opts.Connectors, time.Now())
	return p, nil
}

func (p *Process) setup(ctx context.Context) error {
	var err error
	if p.ln == nil {
		if p.ln, err = Listen(p.opts.Listen); err != nil {
			return err
		}
	}
	if p.admin, err = p.opts.Kafka.NewClient(); err != nil {
		return err
	}
	if p.retries, err = p.opts.Kafka.NewClient(kgo.MaxBufferedRecords(100000)); err != nil {
		return err
	}
	if err := p.newIngestWriter(); err != nil {
		return err
	}
	if err := p.opts.Kafka.Preflight(ctx); err != nil {
		return err
	}
	adm := kadm.NewClient(p.admin)
	specs := p.opts.Topics.Specs(p.opts.Connectors)
	if p.opts.NoCreateTopics {
		err := errors.Join(kafka.VerifyTopics(ctx, adm, specs, p.opts.TopicOptions),
			kafka.VerifyCompactedTopics(ctx, adm, p.opts.Topics.Compacted()))
		if err != nil {
			return kafka.ExplainAuthorization(err, p.opts.Topics.Prefix+".", true)
		}
	} else if err := kafka.EnsureTopics(ctx, adm, specs, p.opts.TopicOptions, p.log); err != nil {
		return kafka.ExplainAuthorization(fmt.Errorf("topics: %w", err), p.opts.Topics.Prefix+".", false)
	} else if err := kafka.EnsureCompactedTopics(ctx, adm, p.opts.Topics.Compacted(), p.opts.TopicOptions, p.log); err != nil {
		return kafka.ExplainAuthorization(fmt.Errorf("topics: %w", err), p.opts.Topics.Prefix+".", false)
	}
	if err := p.setupHealth(); err != nil { // after the state topic exists: its reader asks for it at once
		return err
	}
	if err := p.adoptOffsets(ctx, adm); err != nil {
		return err
	}
	stages, err := p.buildStages()
	if err != nil {
		return err
	}
	p.runner = NewRunner(p.log, append(stages, p.healthStages()...)...)
	p.metrics.Registry().MustRegister(metrics.NewLagCollector(adm, p.groups()))
	p.server = &http.Server{
		Handler:           p.api(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	return nil
}

// Listen binds the HTTP API's address, for Options.Listener; the error
// names the address (such as "bind: address already in use").
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Addr returns the HTTP API's address.
func (p *Process) Addr() string { return p.ln.Addr().String() }

// Metrics returns the process's metrics.
func (p *Process) Metrics() *metrics.Metrics { return p.metrics }

// Run serves the API and runs the stages until ctx ends or a stage fails.
// At the end it stops intake first (the HTTP server finishes the requests
// it has, within 10 s), then lets the stages settle in-flight work and
// commit, then closes its clients. It returns nil after a clean stop.
func (p *Process) Run(ctx context.Context) error {
	defer p.closeClients()
	stageCtx, stopStages := context.WithCancel(context.Background())
	defer stopStages()
	serveErr := make(chan error, 1)
	go func() { serveErr <- p.server.Serve(p.ln) }()
	runErr := make(chan error, 1)
	go func() { runErr <- p.runner.Run(stageCtx) }()
	if p.opts.Watch > 0 {
		go p.watch(stageCtx)
	}
	p.ready.Store(true)
	var err error
	select {
	case <-ctx.Done():
	case err = <-runErr:
		runErr <- err
	case err = <-serveErr:
	}
	p.ready.Store(false)
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.server.Shutdown(shutCtx)
	stopStages()
	if rerr := <-runErr; err == nil {
		err = rerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (p *Process) closeClients() {
	for _, cl := range []*kgo.Client{p.retries, p.ingestTx} {
		if cl != nil {
			cl.Close()
		}
	}
	if p.admin != nil {
		p.admin.Close()
	}
}
