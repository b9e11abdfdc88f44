package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicOptions says how EnsureTopics creates topics.
type TopicOptions struct {
	// Partitions of a new topic. Default 12.
	Partitions int32
	// ConnectorPartitions of a new connector main topic. Default
	// Partitions.
	ConnectorPartitions int32
	// RetryPartitions of a new retry tier or DLQ topic. Default
	// ConnectorPartitions.
	RetryPartitions int32
	// ReplicationFactor of a new topic. Default 1.
	ReplicationFactor int16
}

// partitionsOf returns the partitions a new topic of spec s gets.
func (o TopicOptions) partitionsOf(s pipeline.TopicSpec) int32 {
	switch s.Kind {
	case pipeline.ConnectorTopic:
		return o.ConnectorPartitions
	case pipeline.RetryTopic:
		return o.RetryPartitions
	}
	return o.Partitions
}

// EnsureTopics creates the missing topics of specs and corrects the
// retention.ms of existing ones. Existing topics keep their partition
// count; a count that differs from opts is logged. However many topics
// there are, it makes few admin requests: one to list, one CreateTopics
// per distinct (partitions, retention) of the missing ones (at most three)
// and per 8,000 partitions, one wait for their metadata, one
// DescribeConfigs, and one AlterConfigs per distinct retention to correct.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, opts TopicOptions, log *slog.Logger) error {
	if opts.Partitions <= 0 {
		opts.Partitions = 12
	}
	if opts.ConnectorPartitions <= 0 {
		opts.ConnectorPartitions = opts.Partitions
	}
	if opts.RetryPartitions <= 0 {
		opts.RetryPartitions = opts.ConnectorPartitions
	}
	if opts.ReplicationFactor <= 0 {
		opts.ReplicationFactor = 1
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var existing, missing []pipeline.TopicSpec
	differ := 0
	for _, s := range specs {
		d, ok := details[s.Name]
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			existing = append(existing, s)
			if n := int32(len(d.Partitions)); d.Err == nil && n != opts.partitionsOf(s) {
				differ++
			}
			continue
		}
		missing = append(missing, s)
	}
	if differ > 0 {
		log.Info("existing topics keep their partition count, which differs from the flags", "topics", differ)
	}
	created, err := createTopics(ctx, adm, missing, opts)
	if err != nil {
		return err
	}
	if len(created) > 0 {
		if err := awaitTopics(ctx, adm, slices.Collect(maps.Keys(created))); err != nil {
			return err
		}
		log.Info("created topics", "topics", len(created), "partitions", opts.Partitions, "connector_partitions", opts.ConnectorPartitions, "retry_partitions", opts.RetryPartitions)
	}
	for _, s := range missing {
		if !created[s.Name] {
			existing = append(existing, s) // created meanwhile by another process
		}
	}
	return fixRetention(ctx, adm, existing, log)
}

func retentionMs(s pipeline.TopicSpec) string {
	return strconv.FormatInt(s.Retention.Milliseconds(), 10)
}

// createTopics creates specs, one request per distinct partition count
// and retention; it returns the topics it created (not those that
// already existed).
func createTopics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, opts TopicOptions) (map[string]bool, error) {
	type kind struct {
		partitions int32
		retention  string
	}
	batches := make(map[kind][]string)
	var order []kind
	for _, s := range specs {
		k := kind{opts.partitionsOf(s), retentionMs(s)}
		if batches[k] == nil {
			order = append(order, k)
		}
		batches[k] = append(batches[k], s.Name)
	}
	created := make(map[string]bool, len(specs))
	for _, k := range order {
		ms := k.retention
		for chunk := range slices.Chunk(batches[k], topicsPerRequest(k.partitions)) {
			resp, err := adm.CreateTopics(ctx, k.partitions, opts.ReplicationFactor, map[string]*string{"retention.ms": &ms}, chunk...)
			if err != nil {
				return nil, fmt.Errorf("create %d topics: %w", len(chunk), err)
			}
			for _, r := range resp.Sorted() {
				switch {
				case errors.Is(r.Err, kerr.TopicAlreadyExists):
				case r.Err != nil:
					return nil, fmt.Errorf("create topic %s (%d partitions, with %d others in one request): %w", r.Topic, k.partitions, len(chunk)-1, r.Err)
				default:
					created[r.Topic] = true
				}
			}
		}
	}
	return created, nil
}

// maxRecordsPerRequest keeps a CreateTopics request under the KRaft
// controller's limit of 10,000 metadata records per user operation
// (beyond it Kafka answers POLICY_VIOLATION).
const maxRecordsPerRequest = 8000

// topicsPerRequest is how many topics of the given partition count one
// CreateTopics request may create: each costs a topic record, a config
// record and a record per partition.
func topicsPerRequest(partitions int32) int {
	return max(maxRecordsPerRequest/(int(partitions)+2), 1)
}

// fixRetention sets retention.ms on the topics whose value differs, one
// request per distinct value.
func fixRetention(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, log *slog.Logger) error {
	if len(specs) == 0 {
		return nil
	}
	want := make(map[string]string, len(specs))
	names := make([]string, 0, len(specs))
	for _, s := range specs {
		want[s.Name] = retentionMs(s)
		names = append(names, s.Name)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return fmt.Errorf("describe topic configs: %w", err)
	}
	fix := make(map[string][]string) // retention.ms → topics
	for _, rc := range rcs {
		if rc.Err != nil {
			return fmt.Errorf("describe topic %s: %w", rc.Name, rc.Err)
		}
		have := ""
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				have = *c.Value
			}
		}
		if have != want[rc.Name] {
			fix[want[rc.Name]] = append(fix[want[rc.Name]], rc.Name)
			log.Info("correcting topic retention", "topic", rc.Name, "was", have, "retention.ms", want[rc.Name])
		}
	}
	for ms, topics := range fix {
		if err := setRetention(ctx, adm, topics, ms); err != nil {
			return err
		}
	}
	return nil
}

func setRetention(ctx context.Context, adm *kadm.Client, topics []string, ms string) error {
	v := ms
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v}}, topics...)
	if err != nil {
		return fmt.Errorf("set retention.ms of %d topics: %w", len(topics), err)
	}
	for _, r := range resp {
		if r.Err != nil {
			return fmt.Errorf("set retention.ms of %s: %w", r.Name, r.Err)
		}
	}
	return nil
}
