package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topicPoll is how often waitVisible asks the broker again.
const topicPoll = 100 * time.Millisecond

// waitVisible polls until the broker's metadata lists every topic of
// parts with a leader for each partition (and at least parts[t]
// partitions when that is not 0), and it describes every topic's
// configuration without error, with the retention.ms of retention for
// the topics there. It returns those configurations, or after within an
// error naming the topics still missing and the last reason.
func waitVisible(ctx context.Context, adm *kadm.Client, parts map[string]int32, retention map[string]string, within time.Duration) (kadm.ResourceConfigs, error) {
	names := make([]string, 0, len(parts))
	for n := range parts {
		names = append(names, n)
	}
	slices.Sort(names)
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(topicPoll)
	defer tick.Stop()
	for {
		rcs, missing, why := visibleOnce(ctx, adm, names, parts, retention)
		if len(missing) == 0 {
			return rcs, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for topics %s to be visible on the broker: %w (last: %v)", strings.Join(missing, ", "), ctx.Err(), why)
		case <-deadline.C:
			return nil, fmt.Errorf("topics not visible on the broker after %s: %s (last: %v)", within, strings.Join(missing, ", "), why)
		case <-tick.C:
		}
	}
}

// visibleOnce asks once; it returns the configs when every topic is
// visible, else the missing topics and why.
func visibleOnce(ctx context.Context, adm *kadm.Client, names []string, parts map[string]int32, retention map[string]string) (kadm.ResourceConfigs, []string, error) {
	// kadm answers ListTopics from kgo's metadata cache (5 s), which still
	// holds the "unknown topic" answers of EnsureTopics' first listing;
	// asking for authorized operations makes kadm send a fresh request.
	details, err := adm.ListTopics(kadm.WithAuthorizedOps(ctx), names...)
	if err != nil {
		return nil, names, fmt.Errorf("list topics: %w", err)
	}
	var missing []string
	var why error
	for _, n := range names {
		if err := partitionsReady(details[n], parts[n]); err != nil {
			missing = append(missing, n)
			if why == nil {
				why = fmt.Errorf("%s: %w", n, err)
			}
		}
	}
	if len(missing) > 0 {
		return nil, missing, why
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, names, fmt.Errorf("describe topic configs: %w", err)
	}
	for _, rc := range rcs {
		err := rc.Err
		if want, ok := retention[rc.Name]; ok && err == nil && retentionOf(rc) != want {
			err = fmt.Errorf("retention.ms %q, want %s", retentionOf(rc), want)
		}
		if err != nil {
			missing = append(missing, rc.Name)
			if why == nil {
				why = fmt.Errorf("describe %s: %w", rc.Name, err)
			}
		}
	}
	if len(rcs) != len(names) {
		return nil, names, fmt.Errorf("describe topic configs: %d of %d topics answered", len(rcs), len(names))
	}
	return rcs, missing, why
}

// partitionsReady says why d is not usable yet, or nil.
func partitionsReady(d kadm.TopicDetail, want int32) error {
	switch {
	case d.Topic == "":
		return errors.New("not in the metadata")
	case d.Err != nil:
		return d.Err
	case len(d.Partitions) == 0, int32(len(d.Partitions)) < want:
		return fmt.Errorf("%d of %d partitions in the metadata", len(d.Partitions), max(want, 1))
	}
	for _, p := range d.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return fmt.Errorf("partition %d has no leader yet (%v)", p.Partition, p.Err)
		}
	}
	return nil
}
