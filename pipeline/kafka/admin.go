package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

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
	// VisibleWithin bounds the wait for the broker to show every topic,
	// with a leader for each partition and its configuration. Default 30s.
	VisibleWithin time.Duration
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
//
// It returns only once the broker's metadata shows every topic, each
// partition with a leader (every partition of a topic it created), and
// describes each topic's configuration, with the retention.ms it
// corrected; if that takes longer than opts.VisibleWithin it fails with an
// error naming the topics still missing. Stages never start on topics the
// broker does not have yet.
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
	if opts.VisibleWithin <= 0 {
		opts.VisibleWithin = 30 * time.Second
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
		log.Info("created topics", "topics", len(created), "partitions", opts.Partitions, "connector_partitions", opts.ConnectorPartitions, "retry_partitions", opts.RetryPartitions)
	}
	wantParts := make(map[string]int32, len(specs)) // 0: any count
	for _, s := range specs {
		if created[s.Name] {
			wantParts[s.Name] = opts.partitionsOf(s)
		} else {
			wantParts[s.Name] = 0 // existing, or created meanwhile by another process
		}
	}
	deadline := time.Now().Add(opts.VisibleWithin)
	rcs, err := waitVisible(ctx, adm, wantParts, nil, opts.VisibleWithin)
	if err != nil {
		return err
	}
	fixed, err := fixRetention(ctx, adm, specs, rcs, log)
	if err != nil || len(fixed) == 0 {
		return err
	}
	// The broker applies a config change after it answered the change.
	_, err = waitVisible(ctx, adm, wantParts, fixed, max(time.Until(deadline), topicPoll))
	return err
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

// fixRetention sets retention.ms on the topics of specs whose value in
// rcs, their described configs, differs, one request per distinct value;
// it returns the values it set.
func fixRetention(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, rcs kadm.ResourceConfigs, log *slog.Logger) (map[string]string, error) {
	want := make(map[string]string, len(specs))
	for _, s := range specs {
		want[s.Name] = retentionMs(s)
	}
	fix := make(map[string][]string) // retention.ms → topics
	var fixed map[string]string
	for _, rc := range rcs {
		w, ok := want[rc.Name]
		if !ok {
			continue
		}
		if have := retentionOf(rc); have != w {
			fix[w] = append(fix[w], rc.Name)
			log.Info("correcting topic retention", "topic", rc.Name, "was", have, "retention.ms", w)
			if fixed == nil {
				fixed = map[string]string{}
			}
			fixed[rc.Name] = w
		}
	}
	for ms, topics := range fix {
		if err := setRetention(ctx, adm, topics, ms); err != nil {
			return nil, err
		}
	}
	return fixed, nil
}

// retentionOf returns the retention.ms that rc describes, "" when none.
func retentionOf(rc kadm.ResourceConfig) string {
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" && c.Value != nil {
			return *c.Value
		}
	}
	return ""
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
