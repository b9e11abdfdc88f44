package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages"
)

// TopicChange is a topic `hookpipe run` would create or correct.
type TopicChange struct {
	// Topic is the topic's name.
	Topic string
	// Create is true for a missing topic; false for a retention to correct.
	Create bool
	// From and To are retention.ms before and after (From empty on Create).
	From, To string
}

// Topics returns the topics of specs that are missing, and those whose
// retention.ms differs from the spec, in specs' order, as EnsureTopics
// would create and correct them.
func Topics(ctx context.Context, adm *kadm.Client, specs []pipeline.TopicSpec) ([]TopicChange, error) {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	details, err := adm.ListTopics(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	var out []TopicChange
	var existing []string
	want := map[string]string{}
	for _, s := range specs {
		ms := strconv.FormatInt(s.Retention.Milliseconds(), 10)
		want[s.Name] = ms
		if d, ok := details[s.Name]; !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			out = append(out, TopicChange{Topic: s.Name, Create: true, To: ms})
			continue
		}
		existing = append(existing, s.Name)
	}
	if len(existing) == 0 {
		return out, nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, existing...)
	if err != nil {
		return nil, fmt.Errorf("describe topic configs: %w", err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return nil, fmt.Errorf("describe topic %s: %w", rc.Name, rc.Err)
		}
		have := ""
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				have = *c.Value
			}
		}
		if have != want[rc.Name] {
			out = append(out, TopicChange{Topic: rc.Name, From: have, To: want[rc.Name]})
		}
	}
	return out, nil
}

// FromTopics infers connector changes without a running process: a
// connector of next without a main topic is added; a main topic
// <p>.connector.<name> whose name is not in next is a connector removed
// (or removed earlier: topics stay). Changed attributes cannot be seen.
func FromTopics(ctx context.Context, adm *kadm.Client, topics pipeline.Topics, next []*pipeline.Connector) ([]Change, error) {
	listed, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	prefix := topics.Connector("")
	existing := map[string]bool{}
	for name := range listed {
		rest, ok := strings.CutPrefix(name, prefix)
		if ok && rest != "" && !strings.Contains(rest, ".") {
			existing[rest] = true
		}
	}
	var out []Change
	for _, c := range next {
		if !existing[c.Name] {
			out = append(out, Change{Connector: c.Name, Kind: Add, Attrs: diff(stages.ConnectorConfig{}, stages.NewConnectorConfig(c), true), EventsChanged: true})
		}
		delete(existing, c.Name)
	}
	for name := range existing {
		out = append(out, Change{Connector: name, Kind: Remove})
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Connector, b.Connector) })
	return out, nil
}
