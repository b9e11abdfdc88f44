package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// VerifyTopics checks, without changing anything, that every topic of
// specs exists with the retention.ms hookpipe sets, at least the partitions
// it would create the topic with (--partitions, --connector-partitions or
// --retry-partitions, by the topic's kind) and a replication factor of at least
// opts.ReplicationFactor. It is what runs instead of EnsureTopics for a
// principal that may not create or alter topics; it needs only Describe
// and DescribeConfigs on the topics. The error lists every problem, one a
// line, each saying how to fix it.
func VerifyTopics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec, opts TopicOptions) error {
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
	var problems, present []string
	want := make(map[string]string, len(specs))
	for _, s := range specs {
		want[s.Name] = retentionMs(s)
		d, ok := details[s.Name]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
			problems = append(problems, fmt.Sprintf("missing topic %s (create it with %d partitions, replication factor %d, retention.ms=%s)", s.Name, opts.partitionsOf(s), opts.ReplicationFactor, want[s.Name]))
			continue
		case d.Err != nil:
			problems = append(problems, fmt.Sprintf("topic %s: %v (hookpipe needs Describe on it)", s.Name, d.Err))
			continue
		}
		present = append(present, s.Name)
		if n, min := int32(len(d.Partitions)), opts.partitionsOf(s); n < min {
			flag := partitionsFlag(s)
			problems = append(problems, fmt.Sprintf("topic %s has %d partitions, fewer than %s %d (add partitions, or run with %s %d)", s.Name, n, flag, min, flag, n))
		}
		if rf := int16(d.Partitions.NumReplicas()); rf < opts.ReplicationFactor {
			problems = append(problems, fmt.Sprintf("topic %s has replication factor %d, less than --replication-factor %d", s.Name, rf, opts.ReplicationFactor))
		}
	}
	problems = append(problems, retentionProblems(ctx, adm, present, want)...)
	if len(problems) > 0 {
		return fmt.Errorf("--no-create-topics: %d problem(s) with the topics:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

// retentionProblems compares each topic's retention.ms with want.
func retentionProblems(ctx context.Context, adm *kadm.Client, names []string, want map[string]string) []string {
	if len(names) == 0 {
		return nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return []string{fmt.Sprintf("describe topic configs: %v (hookpipe needs DescribeConfigs on its topics)", err)}
	}
	var out []string
	for _, rc := range rcs {
		if rc.Err != nil {
			out = append(out, fmt.Sprintf("topic %s: describe configs: %v (hookpipe needs DescribeConfigs on it)", rc.Name, rc.Err))
			continue
		}
		have := ""
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				have = *c.Value
			}
		}
		if have != want[rc.Name] {
			out = append(out, fmt.Sprintf("topic %s has retention.ms=%s, want %s", rc.Name, have, want[rc.Name]))
		}
	}
	return out
}

// partitionsFlag names the flag that sets the partitions of s's kind.
func partitionsFlag(s pipeline.TopicSpec) string {
	switch s.Kind {
	case pipeline.ConnectorTopic:
		return "--connector-partitions"
	case pipeline.RetryTopic:
		return "--retry-partitions"
	}
	return "--partitions"
}
