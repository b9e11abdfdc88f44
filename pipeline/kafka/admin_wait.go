package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
)

// awaitTopics waits until the brokers' metadata shows every topic with a
// leader for each partition: a broker answers requests about a topic
// (DescribeConfigs, Produce, a group's assignment) only once it knows it.
// It asks for all topics in one Metadata request per round, every 50 ms
// at first, so a thousand new topics cost a few requests, not a thousand.
func awaitTopics(ctx context.Context, adm *kadm.Client, topics []string) error {
	pause := 50 * time.Millisecond
	for {
		details, err := adm.ListTopics(ctx, topics...)
		missing := ""
		if err == nil {
			missing = firstMissing(details, topics)
			if missing == "" {
				return nil
			}
		}
		if !pipeline.Sleep(ctx, pause) {
			if err == nil {
				err = fmt.Errorf("topic %s has no leader yet", missing)
			}
			return fmt.Errorf("wait for the metadata of %d new topics: %w (%w)", len(topics), ctx.Err(), err)
		}
		pause = min(2*pause, time.Second)
	}
}

// firstMissing returns a topic that details lack or show without a leader
// for some partition; "" when every one is ready.
func firstMissing(details kadm.TopicDetails, topics []string) string {
	for _, t := range topics {
		d, ok := details[t]
		if !ok || d.Err != nil || len(d.Partitions) == 0 {
			return t
		}
		for _, p := range d.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return t
			}
		}
	}
	return ""
}
