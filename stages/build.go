package stages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hookpipe/hookpipe/stages/deliver"
	"github.com/hookpipe/hookpipe/stages/fanout"
	"github.com/hookpipe/hookpipe/stages/ingest"
)

func (p *Process) runs(stage string) bool { return slices.Contains(p.opts.Stages, stage) }

// buildStages builds the consuming stages this process runs.
func (p *Process) buildStages() ([]Stage, error) {
	var out []Stage
	if p.runs("fanout") {
		s, err := fanout.New(fanout.Config{
			Connectors: p.opts.Connectors, Topics: p.opts.Topics, Kafka: p.opts.Kafka,
			Producer: p.producer, Metrics: p.metrics, Logger: p.log,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	for _, c := range p.opts.Connectors {
		if c.Disabled {
			continue
		}
		cfg := deliver.Config{
			Connector: c, Topics: p.opts.Topics, Kafka: p.opts.Kafka, Producer: p.retries,
			Metrics: p.metrics.Connector(c.Name), Version: p.opts.Version, Logger: p.log,
		}
		if p.opts.HTTPClient != nil {
			cfg.HTTPClient = p.opts.HTTPClient(c)
		}
		for _, mk := range []struct {
			stage string
			new   func(deliver.Config) (*deliver.Stage, error)
		}{{"deliver", deliver.NewDeliver}, {"retry", deliver.NewRetry}} {
			if !p.runs(mk.stage) {
				continue
			}
			s, err := mk.new(cfg)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// groups lists the consumer groups whose lag /metrics reports.
func (p *Process) groups() []string {
	gs := []string{p.opts.Topics.FanoutGroup()}
	for _, c := range p.opts.Connectors {
		gs = append(gs, p.opts.Topics.DeliverGroup(c.Name), p.opts.Topics.RetryGroup(c.Name))
	}
	return gs
}

func (p *Process) api() http.Handler {
	cfg := APIConfig{Connectors: p.opts.Connectors, Metrics: p.metrics, Ready: p.readyCheck,
		Health: p.health, Token: p.opts.IngestToken}
	if p.runs("ingest") {
		cfg.Ingest = ingest.NewHandler(ingest.Config{
			Client: p.producer, Topic: p.opts.Topics.Events(), Limits: p.opts.IngestLimits,
			Token: p.opts.IngestToken, Metrics: p.metrics, Logger: p.log,
		})
	}
	return NewAPI(cfg)
}

// readyCheck: Kafka answers, topics were ensured (New did), and every
// stage is running.
func (p *Process) readyCheck(ctx context.Context) error {
	if !p.ready.Load() {
		return errors.New("not started")
	}
	if waiting := p.runner.NotReady(); len(waiting) > 0 {
		return fmt.Errorf("waiting for %s", strings.Join(waiting, ", "))
	}
	if err := p.admin.Ping(ctx); err != nil {
		return errors.New("kafka unreachable")
	}
	return nil
}
