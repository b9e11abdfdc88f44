package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// ReplicationFactor of a new topic. Default 1.
	ReplicationFactor int16
	// VisibleWithin bounds the wait for the broker to show every topic,
	// with a leader for each partition and its configuration. Default 30s.
	VisibleWithin time.Duration
}

// EnsureTopics creates the missing topics of specs and corrects the
// retention.ms of existing ones. Existing topics keep their partition
// count; a count that differs from opts is logged. It returns only once
// the broker's metadata shows every topic, each partition with a leader
// (every partition of a topic it created), and describes each topic's
// configuration, with the retention.ms it corrected; if that takes longer
// than opts.VisibleWithin it fails with an error naming the topics still
// missing.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, opts TopicOptions, log *slog.Logger) error {
	if opts.Partitions <= 0 {
		opts.Partitions = 12
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
	wantParts := make(map[string]int32, len(specs)) // 0: any count
	for _, s := range specs {
		d, ok := details[s.Name]
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			wantParts[s.Name] = 0
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
			wantParts[s.Name] = 0 // created meanwhile by another process
			continue
		}
		wantParts[s.Name] = opts.Partitions
		log.Info("created topic", "topic", s.Name, "partitions", opts.Partitions, "retention.ms", retentionMs(s))
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

// fixRetention sets retention.ms on the topics of specs whose value in
// rcs, their described configs, differs; it returns the values it set.
func fixRetention(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, rcs kadm.ResourceConfigs, log *slog.Logger) (map[string]string, error) {
	var fixed map[string]string
	want := make(map[string]string, len(specs))
	for _, s := range specs {
		want[s.Name] = retentionMs(s)
	}
	for _, rc := range rcs {
		if _, ok := want[rc.Name]; !ok {
			continue
		}
		have := retentionOf(rc)
		if have == want[rc.Name] {
			continue
		}
		if err := setRetention(ctx, adm, rc.Name, want[rc.Name]); err != nil {
			return nil, err
		}
		log.Info("corrected topic retention", "topic", rc.Name, "was", have, "retention.ms", want[rc.Name])
		if fixed == nil {
			fixed = map[string]string{}
		}
		fixed[rc.Name] = want[rc.Name]
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
