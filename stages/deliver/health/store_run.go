package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Run reads the state topic until ctx ends, calling OnChange for every
// state. It returns nil when ctx ends.
func (s *Store) Run(ctx context.Context) error {
	defer s.cl.Close()
	ends, err := s.endOffsets(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.checkCaughtUp(ends)
	for ctx.Err() == nil {
		fs := s.cl.PollFetches(ctx)
		if fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				s.log.Warn("state store fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			s.apply(r)
			if e, ok := ends[r.Partition]; ok && r.Offset+1 >= e {
				delete(ends, r.Partition)
			}
		})
		s.checkCaughtUp(ends)
	}
	return nil
}

// endOffsets returns the end offset of each partition of the topic that
// holds records at start, retrying until Kafka answers or ctx ends.
func (s *Store) endOffsets(ctx context.Context) (map[int32]int64, error) {
	adm := kadm.NewClient(s.cl)
	for {
		lo, err := adm.ListEndOffsets(ctx, s.cfg.Topic)
		if err == nil {
			err = lo.Error()
		}
		var starts kadm.ListedOffsets
		if err == nil {
			starts, err = adm.ListStartOffsets(ctx, s.cfg.Topic)
		}
		if err == nil {
			ends := map[int32]int64{}
			lo.Each(func(o kadm.ListedOffset) {
				if st, ok := starts.Lookup(o.Topic, o.Partition); !ok || st.Offset < o.Offset {
					ends[o.Partition] = o.Offset
				}
			})
			return ends, nil
		}
		if ctx.Err() == nil {
			s.log.Warn("state store: cannot list the state topic's end; retrying", "topic", s.cfg.Topic, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("state store: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) checkCaughtUp(ends map[int32]int64) {
	if len(ends) == 0 && !s.Ready() {
		close(s.caughtUp)
	}
}

// apply decodes one record and reports it; a tombstone means ACTIVE.
func (s *Store) apply(r *kgo.Record) {
	name := string(r.Key)
	a := Admin{State: StateActive}
	if r.Value != nil {
		if err := json.Unmarshal(r.Value, &a); err != nil || !validAdmin(a.State) {
			s.log.Warn("state store: skipped a record that is not a connector state", "connector", name, "offset", r.Offset)
			return
		}
	}
	s.mu.Lock()
	s.states[name] = a
	s.mu.Unlock()
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(name, a)
	}
}

func validAdmin(st State) bool {
	return st == StateActive || st == StateUserDisabled || st == StateSystemDisabled
}
