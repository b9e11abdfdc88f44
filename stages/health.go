package stages

import (
	"cmp"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// setupHealth creates the state topic, the state store's reader and the
// process's Health. Every process runs them: the API's :disable and
// :enable write through the store, and the deliver and retry stages
// admit requests through the Health's gates.
func (p *Process) setupHealth(ctx context.Context, adm *kadm.Client) error {
	topic := p.opts.Topics.State()
	// With --no-create-topics, setup verifies the state topic with the others.
	if !p.opts.NoCreateTopics {
		if err := health.EnsureStateTopic(ctx, adm, topic, p.opts.TopicOptions.ReplicationFactor); err != nil {
			return kafka.ExplainAuthorization(fmt.Errorf("topics: %w", err), p.opts.Topics.Prefix+".", false)
		}
	}
	var h *health.Health
	store, err := health.NewStore(health.StoreConfig{
		Kafka: p.opts.Kafka, Topic: topic, Producer: p.retries, Logger: p.log,
		OnChange: func(name string, a health.Admin) { h.Apply(name, a) },
	})
	if err != nil {
		return err
	}
	h = health.New(health.Config{Connectors: p.opts.Connectors, Store: store, Metrics: p.metrics, Logger: p.log,
		Partitions: p.partitionsOf})
	p.store, p.health = store, h
	return nil
}

// healthStages are the store's reader and the health timer, run beside
// the consuming stages.
func (p *Process) healthStages() []Stage {
	return []Stage{p.store, p.health}
}

// partitionsOf is how many partitions connector c has over its main topic
// and retry tiers, as this process would create them: its share of c's
// rate limit is the share of these it is assigned.
func (p *Process) partitionsOf(c *pipeline.Connector) int {
	o := p.opts.TopicOptions
	main := cmp.Or(o.ConnectorPartitions, o.Partitions, 12)
	retry := cmp.Or(o.RetryPartitions, main)
	return int(main) + int(retry)*len(c.Retry.Backoff)
}
