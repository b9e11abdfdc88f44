package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicOptions says how EnsureTopics creates topics.
type TopicOptions struct {
	// Partitions of a new topic. Default 12.
	Partitions int32
	// ReplicationFactor of a new topic. Default 1.
	ReplicationFactor int16
}

// EnsureTopics creates the missing topics of specs and corrects the
// retention.ms of existing ones. Existing topics keep their partition
// count; a count that differs from opts is logged.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, opts TopicOptions, log *slog.Logger) error {
	if opts.Partitions <= 0 {
		opts.Partitions = 12
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
	var existing []pipeline.TopicSpec
	for _, s := range specs {
		d, ok := details[s.Name]
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			existing = append(existing, s)
			if n := int32(len(d.Partitions)); d.Err == nil && n != opts.Partitions {
				log.Info("topic keeps its partition count", "topic", s.Name, "partitions", n, "flag", opts.Partitions)
			}
			continue
		}
		created, err := createTopic(ctx, adm, s, opts)
		if err != nil {
			return err
		}
		if !created {
			existing = append(existing, s) // created meanwhile by another process
			continue
		}
		log.Info("created topic", "topic", s.Name, "partitions", opts.Partitions, "retention.ms", retentionMs(s))
	}
	return fixRetention(ctx, adm, existing, log)
}

func retentionMs(s pipeline.TopicSpec) string {
	return strconv.FormatInt(s.Retention.Milliseconds(), 10)
}

// createTopic creates s; false when it already existed.
func createTopic(ctx context.Context, adm *kadm.Client, s pipeline.TopicSpec, opts TopicOptions) (bool, error) {
	ms := retentionMs(s)
	configs := map[string]*string{"retention.ms": &ms}
	_, err := adm.CreateTopic(ctx, opts.Partitions, opts.ReplicationFactor, configs, s.Name)
	switch {
	case errors.Is(err, kerr.TopicAlreadyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create topic %s: %w", s.Name, err)
	}
	return true, nil
}

// fixRetention sets retention.ms on the topics whose value differs.
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
		if have == want[rc.Name] {
			continue
		}
		if err := setRetention(ctx, adm, rc.Name, want[rc.Name]); err != nil {
			return err
		}
		log.Info("corrected topic retention", "topic", rc.Name, "was", have, "retention.ms", want[rc.Name])
	}
	return nil
}

func setRetention(ctx context.Context, adm *kadm.Client, topic, ms string) error {
	v := ms
	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &v}}, topic)
	if err == nil {
		for _, r := range resp {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return fmt.Errorf("set retention.ms of %s: %w", topic, err)
	}
	return nil
}
