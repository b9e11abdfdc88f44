package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// routed is an enabled connector and the route the stage runs for it.
type routed struct {
	conn  *pipeline.Connector
	route kafka.Route
}

// Apply makes the stage serve the enabled connectors of conns, changing
// only what changed (by config.ConnectorHash): a new connector's route is
// added (its topics must exist); a removed or newly disabled one's route
// stops once its in-flight requests are settled and its done prefix
// committed (its topics and their records stay); a changed one's route
// is rebuilt the same way and goes on from where the old one stopped,
// the records read but not started included. Unchanged connectors are
// not touched. Apply waits for the in-flight requests it settles (not
// cancelling them), or until ctx ends; it is safe to call while Run
// runs, one call at a time. The Health given in Config must have been
// updated to conns first.
func (s *Stage) Apply(ctx context.Context, conns []*pipeline.Connector) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Transports.seal() // the transports handed out are in use
	old := make([]*pipeline.Connector, 0, len(s.routes))
	for _, r := range s.routes {
		old = append(old, r.conn)
	}
	d := config.Compare(old, enabled(conns))
	var errs []error
	for _, c := range d.Removed {
		if err := s.consumer.RemoveRoute(ctx, c.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.routes, c.Name)
	}
	for _, c := range d.Changed {
		prev := s.routes[c.Name].route
		r := s.build(s.cfg, c, &prev)
		if err := s.consumer.ReplaceRoute(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		s.routes[c.Name] = routed{c, r}
	}
	for _, c := range d.Added {
		r := s.build(s.cfg, c, nil)
		if err := s.consumer.AddRoute(r); err != nil {
			errs = append(errs, err)
			continue
		}
		s.routes[c.Name] = routed{c, r}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
