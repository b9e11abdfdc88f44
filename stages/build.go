package stages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages/deliver"
	"github.com/hookpipe/hookpipe/stages/fanout"
	"github.com/hookpipe/hookpipe/stages/ingest"
	"github.com/hookpipe/hookpipe/stages/latest"
)

func (p *Process) runs(stage string) bool { return slices.Contains(p.opts.Stages, stage) }

// buildStages builds the consuming stages this process runs.
func (p *Process) buildStages() ([]Stage, error) {
	var out []Stage
	if p.writer != nil {
		out = append(out, p.writer)
	}
	if p.runs("fanout") {
		s, err := fanout.New(fanout.Config{
			Connectors: p.opts.Connectors, Topics: p.opts.Topics, Kafka: p.opts.Kafka,
			Metrics: p.metrics, Logger: p.log,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.fanout = s
		// The latest-values writer for :sync runs beside fanout.
		out = append(out, latest.New(latest.Config{Topics: p.opts.Topics, Kafka: p.opts.Kafka, Logger: p.log}))
	}
	// Deliver and retry run with no enabled connector too: a reload may
	// add routes.
	cfg := deliver.Config{
		Connectors: p.opts.Connectors, Topics: p.opts.Topics, Kafka: p.opts.Kafka, Producer: p.retries,
		Metrics: p.metrics, Version: p.opts.Version, HTTPClient: p.opts.HTTPClient,
		MaxInFlightTotal: p.opts.MaxInFlightTotal, Logger: p.log,
		Health: p.health,
	}
	for _, mk := range []struct {
		stage string
		new   func(deliver.Config) (*deliver.Stage, error)
	}{{"deliver", deliver.NewDeliver}, {"retry", deliver.NewRetry}} {
		if !p.runs(mk.stage) {
			continue
		}
		// A pool per stage: an HTTP/1.1 pool opens at most the in-flight
		// bound of the connectors it serves, and a pool shared by both
		// stages would open up to twice what one stage sends at once.
		cfg.Transports = deliver.NewTransports()
		s, err := mk.new(cfg)
		if err != nil {
			return nil, err
		}
		p.health.AddSource(s.Stats)
		out = append(out, s)
		p.delivers = append(p.delivers, s)
	}
	return out, nil
}

// groups lists the consumer groups whose lag /metrics reports.
func (p *Process) groups() []string {
	t := p.opts.Topics
	return []string{t.FanoutGroup(), t.DeliverGroup(), t.RetryGroup()}
}

// adoptOffsets gives the deliver and retry groups the committed offsets of
// the per-connector groups of earlier versions (<p>.deliver.<name>,
// <p>.retry.<name>), for the partitions they have none of.
func (p *Process) adoptOffsets(ctx context.Context, adm *kadm.Client) error {
	t := p.opts.Topics
	for _, g := range []struct {
		stage, group string
		legacy       func(string) string
	}{{"deliver", t.DeliverGroup(), t.LegacyDeliverGroup}, {"retry", t.RetryGroup(), t.LegacyRetryGroup}} {
		if !p.runs(g.stage) {
			continue
		}
		var legacy []string
		for _, c := range p.opts.Connectors {
			legacy = append(legacy, g.legacy(c.Name))
		}
		if _, err := kafka.AdoptOffsets(ctx, adm, g.group, legacy, p.log); err != nil {
			return fmt.Errorf("upgrade from per-connector groups: %w", err)
		}
	}
	return nil
}

func (p *Process) api() http.Handler {
	cfg := APIConfig{Live: p.live, Metrics: p.metrics, Ready: p.readyCheck,
		Stages: p.stageStates, StageReady: p.stageReady,
		Health: p.health, Token: p.opts.IngestToken}
	cfg.Actions = NewActions(ActionsConfig{
		Live: p.live, Topics: p.opts.Topics, Kafka: p.opts.Kafka,
		Token: p.opts.IngestToken, Logger: p.log,
		Sync: func(ctx context.Context, c *pipeline.Connector) (int, error) {
			return latest.Sync(ctx, p.opts.Kafka, p.opts.Topics, c, latest.DefaultWindow, time.Now())
		},
	})
	if p.runs("ingest") {
		cfg.Ingest = ingest.NewHandler(ingest.Config{
			Writer: p.writer, Topic: p.opts.Topics.Events(), Limits: p.opts.IngestLimits,
			Token: p.opts.IngestToken, Metrics: p.metrics, Logger: p.log,
		})
	}
	return NewAPI(cfg)
}

// readyCheck: Kafka answers, topics were ensured (New did), and every
// stage is running. When Kafka does not answer, a fresh connection check
// (Preflight) names the cause: credentials, certificate, TLS mismatch.
func (p *Process) readyCheck(ctx context.Context) error {
	if !p.ready.Load() {
		return errors.New("not started")
	}
	if waiting := p.runner.NotReady(); len(waiting) > 0 {
		return fmt.Errorf("waiting for %s", strings.Join(waiting, ", "))
	}
	pingCtx, cancel := context.WithTimeout(ctx, time.Second) // leaves time to name the cause
	err := p.admin.Ping(pingCtx)
	cancel()
	if err != nil {
		if perr := p.opts.Kafka.Preflight(ctx); perr != nil {
			return perr // names the cause: credentials, certificate, TLS mismatch
		}
		return errors.New("kafka unreachable")
	}
	return nil
}

// newIngestWriter creates ingest's transactional producer and its Writer
// when this process runs ingest. The transactional id is the topic prefix
// and the instance id, so that a restarted process aborts at once what its
// crashed predecessor left open (instead of read_committed consumers
// waiting out the transaction timeout); without an instance id it is
// random per start.
func (p *Process) newIngestWriter() error {
	if !p.runs("ingest") {
		return nil
	}
	var err error
	p.ingestTx, err = p.opts.Kafka.NewClient(append(kafka.TxnProducerOpts(), kgo.MaxBufferedRecords(100000),
		kgo.TransactionalID(p.opts.Kafka.TransactionalID(p.opts.Topics.Prefix+".ingest")),
		kgo.TransactionTimeout(ingestTxnTimeout))...)
	if err != nil {
		return err
	}
	p.writer, err = ingest.NewWriter(ingest.WriterConfig{Client: p.ingestTx, Logger: p.log})
	return err
}

// ingestTxnTimeout bounds how long a transaction of a process that died
// mid-request (and was not restarted with its id) holds back
// read_committed consumers of the partitions it wrote.
const ingestTxnTimeout = 10 * time.Second

// stageStates returns each stage's state for /readyz?verbose.
func (p *Process) stageStates() map[string]string {
	if !p.ready.Load() {
		out := map[string]string{}
		for _, n := range p.runner.Names() {
			out[n] = "starting"
		}
		return out
	}
	return p.runner.States()
}

// stageReady: Kafka answers and the stage is running and ready.
func (p *Process) stageReady(ctx context.Context, stage string) error {
	st, ok := p.stageStates()[stage]
	switch {
	case !ok:
		return fmt.Errorf("this process runs no stage %q", stage)
	case st != "running":
		return fmt.Errorf("%s %s", stage, st)
	}
	if err := p.admin.Ping(ctx); err != nil {
		return errors.New("kafka unreachable")
	}
	return nil
}
