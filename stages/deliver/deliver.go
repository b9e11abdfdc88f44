package deliver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Config configures a connector's deliver or retry stage.
type Config struct {
	// Connector is the connector served.
	Connector *pipeline.Connector
	// Topics names the topics and groups.
	Topics pipeline.Topics
	// Kafka makes the stage's group client.
	Kafka kafka.Config
	// Producer writes retry and DLQ records; shared by the process.
	Producer *kgo.Client
	// Metrics records outcomes; may be nil.
	Metrics *metrics.ConnectorMetrics
	// Version goes into the User-Agent: hookpipe/<version>.
	Version string
	// HTTPClient overrides the client built for the connector (tests use
	// it for custom TLS roots).
	HTTPClient *http.Client
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Stage is a running deliver or retry stage for one connector.
type Stage struct {
	name     string
	consumer *kafka.Consumer
}

// NewDeliver returns the deliver stage: consumer group <p>.deliver.<name>
// over the connector's main topic.
func NewDeliver(cfg Config) (*Stage, error) {
	w := newWorker(cfg)
	topic := cfg.Topics.Connector(cfg.Connector.Name)
	w.tiers[topic] = -1
	return newStage("deliver "+cfg.Connector.Name, cfg, w, cfg.Topics.DeliverGroup(cfg.Connector.Name), []string{topic}, nil)
}

// NewRetry returns the retry stage: consumer group <p>.retry.<name> over
// the connector's retry tiers. A record of tier n is due Backoff[n] after
// it was appended, or when it expires, whichever is first.
func NewRetry(cfg Config) (*Stage, error) {
	w := newWorker(cfg)
	var topics []string
	for n := range cfg.Connector.Retry.Backoff {
		t := cfg.Topics.Retry(cfg.Connector.Name, n)
		w.tiers[t] = n
		topics = append(topics, t)
	}
	return newStage("retry "+cfg.Connector.Name, cfg, w, cfg.Topics.RetryGroup(cfg.Connector.Name), topics, w.dueAt)
}

func newStage(name string, cfg Config, w *worker, group string, topics []string, due func(*kgo.Record) time.Time) (*Stage, error) {
	c, err := kafka.NewConsumer(kafka.ConsumerConfig{
		Kafka:       cfg.Kafka,
		Group:       group,
		Topics:      topics,
		MaxInFlight: cfg.Connector.MaxInFlight,
		DueAt:       due,
		Handle:      w.handle,
		Grace:       cfg.Connector.Timeout + 5*time.Second,
		Logger:      w.log,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Stage{name: name, consumer: c}, nil
}

// Ready reports whether the stage has joined its consumer group.
func (s *Stage) Ready() bool { return s.consumer.Joined() }

// Name returns "deliver <connector>" or "retry <connector>".
func (s *Stage) Name() string { return s.name }

// Run delivers until ctx ends, then settles in-flight requests and commits
// (see kafka.Consumer.Run).
func (s *Stage) Run(ctx context.Context) error { return s.consumer.Run(ctx) }
