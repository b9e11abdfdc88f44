package fanout

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
)

// connectorSet is the set of connectors fanout routes by, and the
// partitions of the events topic it has been logged in effect for.
type connectorSet struct {
	targets []target
	batch   int
	hash    string         // config.Hash of the enabled connectors
	logged  map[int32]bool // partitions whose first offset under this set was logged
}

// newSet resolves the enabled connectors of conns. maxInFlight is
// Config.MaxInFlight (0: the default by the number of connectors).
func (s *Stage) newSet(conns []*pipeline.Connector, topics pipeline.Topics, maxInFlight int) *connectorSet {
	set := &connectorSet{logged: map[int32]bool{}}
	var on []*pipeline.Connector
	for _, c := range conns {
		if c.Disabled {
			continue
		}
		on = append(on, c)
		set.targets = append(set.targets, target{
			conn:     c,
			topic:    topics.Connector(c.Name),
			renderer: pipeline.NewRenderer(c.Labels),
			metrics:  s.metrics.Connector(c.Name),
		})
	}
	set.hash = config.Hash(on)
	set.batch = maxInFlight
	if set.batch <= 0 {
		// Bound the outputs in flight, not the events: an event to a
		// thousand connectors holds a thousand records.
		set.batch = max(DefaultMaxInFlight/max(len(set.targets), 1), 100)
	}
	return set
}

// SetConnectors makes fanout route by conns (their enabled ones) from
// its next transaction on: a transaction never mixes two sets. The
// connectors' topics must exist. For each partition of the events topic,
// the first offset routed by the new set is logged once that
// transaction committed. Safe to call while Run runs.
func (s *Stage) SetConnectors(conns []*pipeline.Connector) {
	s.next.Store(s.newSet(conns, s.topics, s.maxInFlight))
}

// swap installs the set SetConnectors left, if any; transact calls it
// before it renders a batch, so an event polled before SetConnectors but
// written after it is routed by the new set.
func (s *Stage) swap() {
	if set := s.next.Swap(nil); set != nil {
		s.set = set
		s.log.Info("fanout: new connector set; each partition's first offset under it is logged as it commits",
			"connectors", len(set.targets), "hash", set.hash)
	}
}

// logEffective logs, for the partitions of a committed batch not logged
// yet under the current set, the offset from which the set routes them.
func (s *Stage) logEffective(fs kgo.Fetches) {
	if s.set.logged == nil {
		return // the set the stage started with
	}
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 || s.set.logged[p.Partition] {
			return
		}
		s.set.logged[p.Partition] = true
		s.log.Info("fanout: connector set in effect", "topic", p.Topic, "partition", p.Partition,
			"offset", p.Records[0].Offset, "hash", s.set.hash)
	})
}
