package kafka

import (
	"context"
	"fmt"
	"slices"
)

// Routes change at run time through AddRoute, RemoveRoute and
// ReplaceRoute (a connectors.d reload). The three are serialised by the
// consumer; each is safe to call concurrently with Run and with each
// other. None of them cancels a handler: in-flight work always finishes
// and is committed before a route changes, so a change neither loses a
// record nor, for the records already done, repeats one.

// newLane fills r's defaults and files its lane under its name and
// topics.
func (c *Consumer) newLane(r Route) (*lane, error) {
	if err := fillRoute(c.cfg.Group, &r); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.routes[r.Name] != nil {
		return nil, fmt.Errorf("consumer %s: two routes named %q", c.cfg.Group, r.Name)
	}
	for _, t := range r.Topics {
		if c.lanes[t] != nil {
			return nil, fmt.Errorf("consumer %s: topic %s is in two routes", c.cfg.Group, t)
		}
	}
	l := &lane{c: c, name: r.Name, route: r}
	for _, t := range r.Topics {
		c.lanes[t] = l
		delete(c.retired, t)
	}
	c.routes[r.Name] = l
	c.slots.setReserve(len(c.routes))
	if r.Gate != nil {
		r.Gate.OnWake(l.kick)
	}
	return l, nil
}

// AddRoute adds route r: its topics join the group's subscription, and
// their records are consumed from the group's committed offsets (from
// the start when there are none) once the group has rebalanced. It fails
// when r's name or one of its topics is routed already.
func (c *Consumer) AddRoute(r Route) error {
	c.change.Lock()
	defer c.change.Unlock()
	l, err := c.newLane(r)
	if err != nil {
		return err
	}
	c.cl.AddConsumeTopics(l.route.Topics...)
	return nil
}

// RemoveRoute stops route name: it starts no record any more, waits for
// its in-flight handlers (until ctx ends; they are not cancelled),
// commits the done prefix of its partitions and takes its topics out of
// the group's subscription. Records read but not started stay
// uncommitted, so a later consumer of the topics reads them.
func (c *Consumer) RemoveRoute(ctx context.Context, name string) error {
	c.change.Lock()
	defer c.change.Unlock()
	l := c.lane(name)
	if l == nil {
		return fmt.Errorf("consumer %s: no route named %q", c.cfg.Group, name)
	}
	if err := l.drain(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.routes, name)
	c.slots.setReserve(len(c.routes))
	for _, t := range l.route.Topics {
		delete(c.lanes, t)
		c.retired[t] = true
	}
	c.mu.Unlock()
	c.release(c.takeTopics(l.route.Topics), 0, true)
	l.retire()
	c.cl.PurgeTopicsFromConsuming(l.route.Topics...)
	return nil
}

// ReplaceRoute replaces the route of r's name by r: it stops starting
// the route's records, waits for its in-flight handlers (until ctx ends;
// they are not cancelled), commits the done prefix of its partitions,
// then starts the records read but not started, and those read from now
// on, with r. Records held in its partitions (waiting for a RetryAt,
// which holds no in-flight slot, or behind a busy key) stay held and run
// with r; when r turns KeyOrdered off, those behind a key become ready,
// and when r turns it on, each key keeps its lowest held record and the
// others wait behind it. Topics of the old route that r lacks are
// released and leave the subscription; r's new topics join it.
func (c *Consumer) ReplaceRoute(ctx context.Context, r Route) error {
	if err := fillRoute(c.cfg.Group, &r); err != nil {
		return err
	}
	c.change.Lock()
	defer c.change.Unlock()
	l := c.lane(r.Name)
	if l == nil {
		return fmt.Errorf("consumer %s: no route named %q", c.cfg.Group, r.Name)
	}
	gone, added := topicDiff(l.route.Topics, r.Topics)
	if err := c.checkFree(added); err != nil {
		return err
	}
	if err := l.drain(ctx); err != nil {
		return err
	}
	ps := c.commitLane(ctx, l)
	if r.KeyOrdered != l.route.KeyOrdered {
		l.reorder(ps, r.KeyOrdered)
	}
	c.mu.Lock()
	for _, t := range gone {
		delete(c.lanes, t)
		c.retired[t] = true
	}
	for _, t := range added {
		c.lanes[t] = l
		delete(c.retired, t)
	}
	c.mu.Unlock()
	c.release(c.takeTopics(gone), 0, true)
	l.resume(r)
	c.cl.PurgeTopicsFromConsuming(gone...)
	c.cl.AddConsumeTopics(added...)
	return nil
}

// lane returns the lane of route name, or nil.
func (c *Consumer) lane(name string) *lane {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.routes[name]
}

// checkFree fails when one of topics is routed already.
func (c *Consumer) checkFree(topics []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range topics {
		if c.lanes[t] != nil {
			return fmt.Errorf("consumer %s: topic %s is in two routes", c.cfg.Group, t)
		}
	}
	return nil
}

// commitLane commits the done prefix of l's partitions, which it returns,
// after writing the pending moves of a transactional consumer (so that
// the moves of l's settled records go with the offsets before them); a
// failed commit is logged and retried with the next one.
func (c *Consumer) commitLane(ctx context.Context, l *lane) []*partition {
	c.mu.Lock()
	var ps []*partition
	for _, p := range c.parts {
		if p.lane == l {
			ps = append(ps, p)
		}
	}
	c.mu.Unlock()
	if c.mover != nil {
		c.flushMoves(true)
	}
	if err := c.commit(ctx, c.offsetsOf(ps), nil); err != nil {
		c.log.Warn("commit before a route change failed; it is retried with the next commit", "route", l.name, "err", err)
	}
	return ps
}

// takeTopics removes and returns the partitions of topics.
func (c *Consumer) takeTopics(topics []string) []*partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*partition
	for tp, p := range c.parts {
		if slices.Contains(topics, tp.topic) {
			out = append(out, p)
			delete(c.parts, tp)
		}
	}
	return out
}

// topicDiff returns the topics of old not in new, and of new not in old.
func topicDiff(old, new []string) (gone, added []string) {
	for _, t := range old {
		if !slices.Contains(new, t) {
			gone = append(gone, t)
		}
	}
	for _, t := range new {
		if !slices.Contains(old, t) {
			added = append(added, t)
		}
	}
	return gone, added
}

// drain stops starting l's records and waits until none is in flight.
// When ctx ends first, l starts records again and drain returns ctx's
// error.
func (l *lane) drain(ctx context.Context) error {
	l.mu.Lock()
	l.draining = true
	ch := make(chan struct{})
	l.drained = ch
	l.signalDrained()
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.resume(l.route)
		return fmt.Errorf("route %s: in-flight work did not finish: %w", l.name, ctx.Err())
	}
}

// signalDrained closes drained once a draining lane has nothing in
// flight. Called with l.mu held.
func (l *lane) signalDrained() {
	if l.draining && l.inflight == 0 && l.drained != nil {
		close(l.drained)
		l.drained = nil
	}
}

// resume installs r and starts what may start.
func (l *lane) resume(r Route) {
	l.mu.Lock()
	old := l.route.Gate
	l.route, l.draining, l.drained = r, false, nil
	l.pump()
	l.mu.Unlock()
	if r.Gate != nil && r.Gate != old {
		r.Gate.OnWake(l.kick)
	}
	l.c.slots.wake()
}

// retire clears a removed lane's list, timer and share of the slots.
func (l *lane) retire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.head, l.tail = nil, nil
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.active {
		l.active = false
		l.c.slots.active.Add(-1)
	}
}
