package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
)

// AdoptOffsets copies to group the committed offsets of the legacy groups
// (such as the per-connector groups of hookpipe before one group served
// all connectors) for every partition group has no commit for yet, so
// that an upgraded process goes on where the old ones stopped instead of
// reading the connector topics from the start. Legacy groups that do not
// exist cost nothing beyond one ListGroups. It must run before group's
// members join (an active group refuses the commit); the legacy groups'
// members should be stopped first, or what they commit afterwards is
// delivered again. It returns how many offsets it copied.
func AdoptOffsets(ctx context.Context, adm *kadm.Client, group string, legacy []string, log *slog.Logger) (int, error) {
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return 0, fmt.Errorf("list groups: %w", err)
	}
	var old []string
	for _, g := range legacy {
		if _, ok := listed[g]; ok {
			old = append(old, g)
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	have, err := adm.FetchOffsets(ctx, group)
	if err != nil && !errors.Is(err, kadm.ErrEmpty) {
		return 0, fmt.Errorf("fetch offsets of %s: %w", group, err)
	}
	adopt := make(kadm.Offsets)
	for _, r := range adm.FetchManyOffsets(ctx, old...) {
		if r.Err != nil {
			return 0, fmt.Errorf("fetch offsets of %s: %w", r.Group, r.Err)
		}
		r.Fetched.Each(func(o kadm.OffsetResponse) {
			if _, ok := have.Lookup(o.Topic, o.Partition); o.Err == nil && o.At >= 0 && !ok {
				adopt.Add(o.Offset)
			}
		})
	}
	if len(adopt) == 0 {
		return 0, nil
	}
	resp, err := adm.CommitOffsets(ctx, group, adopt)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("commit adopted offsets to %s: %w", group, err)
	}
	n := 0
	adopt.Each(func(kadm.Offset) { n++ })
	log.Info("adopted the committed offsets of the per-connector groups", "group", group, "groups", len(old), "partitions", n)
	return n, nil
}
