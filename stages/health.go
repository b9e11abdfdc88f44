package stages

import (
	"cmp"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// setupHealth creates the state store's reader and the process's Health;
// the state topic is created (or verified) with the other compacted
// topics (pipeline.Topics.Compacted). Every process runs them: the API's
// :disable and :enable write through the store, and the deliver and retry
// stages admit requests through the Health's gates.
func (p *Process) setupHealth() error {
	topic := p.opts.Topics.State()
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
