package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hookpipe/hookpipe/pipeline"
)

// EnsureCompactedTopics runs EnsureCompacted for each topic, with the
// topic's own partition count when it has one, then waits (up to
// opts.VisibleWithin, default 30s) until the broker lists every one with
// a leader per partition, so that readers started next find them.
func EnsureCompactedTopics(ctx context.Context, adm *kadm.Client, topics []pipeline.CompactedTopic, opts TopicOptions, log *slog.Logger) error {
	parts := make(map[string]int32, len(topics))
	for _, t := range topics {
		o := opts
		if t.Partitions > 0 {
			o.Partitions = t.Partitions
		}
		if err := EnsureCompacted(ctx, adm, t.Name, o, log); err != nil {
			return err
		}
		parts[t.Name] = 0
	}
	_, err := waitVisible(ctx, adm, parts, nil, cmp.Or(opts.VisibleWithin, 30*time.Second))
	return err
}

// VerifyCompactedTopics runs VerifyCompacted for each topic and joins
// what is wrong with all of them.
func VerifyCompactedTopics(ctx context.Context, adm *kadm.Client, topics []pipeline.CompactedTopic) error {
	var errs []error
	for _, t := range topics {
		errs = append(errs, VerifyCompacted(ctx, adm, t.Name))
	}
	return errors.Join(errs...)
}

// EnsureCompacted creates topic with cleanup.policy=compact when it is
// missing, and sets cleanup.policy=compact on an existing topic whose
// policy differs. Like EnsureTopics, it keeps an existing partition count.
func EnsureCompacted(ctx context.Context, adm *kadm.Client, topic string, opts TopicOptions, log *slog.Logger) error {
	if opts.Partitions <= 0 {
		opts.Partitions = 12
	}
	if opts.ReplicationFactor <= 0 {
		opts.ReplicationFactor = 1
	}
	compact := "compact"
	_, err := adm.CreateTopic(ctx, opts.Partitions, opts.ReplicationFactor, map[string]*string{"cleanup.policy": &compact}, topic)
	switch {
	case err == nil:
		log.Info("created topic", "topic", topic, "partitions", opts.Partitions, "cleanup.policy", compact)
		return nil
	case !errors.Is(err, kerr.TopicAlreadyExists):
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && *c.Value == compact {
			return nil
		}
	}
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: &compact}}, topic)
	if err == nil {
		for _, r := range resp {
			err = errors.Join(err, r.Err)
		}
	}
	if err != nil {
		return fmt.Errorf("set cleanup.policy of %s: %w", topic, err)
	}
	log.Info("corrected topic cleanup.policy", "topic", topic, "cleanup.policy", compact)
	return nil
}

// VerifyCompacted checks, without changing anything, that topic exists
// with cleanup.policy=compact; the error names what is wrong and how to
// create it (for --no-create-topics).
func VerifyCompacted(ctx context.Context, adm *kadm.Client, topic string) error {
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("topic %s is missing: create it with cleanup.policy=compact", topic)
	}
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && *c.Value != "compact" {
			return fmt.Errorf("topic %s has cleanup.policy=%s, want compact", topic, *c.Value)
		}
	}
	return nil
}
