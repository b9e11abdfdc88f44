package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
)

// awaitTopics waits until the broker answers for every topic: Kafka
// creates a topic asynchronously, and a broker refuses requests about a
// topic (DescribeConfigs, Produce, a group's offsets) until its metadata
// has it. It asks about all topics in one DescribeConfigs per round, every
// 50 ms at first, so a thousand new topics cost a few requests, not a
// thousand. (DescribeConfigs rather than kadm's ListTopics, which answers
// from the client's metadata cache for up to 5 s.)
func awaitTopics(ctx context.Context, adm *kadm.Client, topics []string) error {
	pause := 50 * time.Millisecond
	for {
		rcs, err := adm.DescribeTopicConfigs(ctx, topics...)
		if err == nil {
			err = firstMissing(rcs)
			if err == nil {
				return nil
			}
		}
		if !pipeline.Sleep(ctx, pause) {
			return fmt.Errorf("wait for %d new topics: %w (%w)", len(topics), ctx.Err(), err)
		}
		pause = min(2*pause, time.Second)
	}
}

// firstMissing returns the error of a topic the broker does not answer
// for yet; nil when it answers for every one.
func firstMissing(rcs kadm.ResourceConfigs) error {
	for _, rc := range rcs {
		if rc.Err != nil {
			return fmt.Errorf("topic %s: %w", rc.Name, rc.Err)
		}
	}
	return nil
}
