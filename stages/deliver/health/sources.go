package health

import "time"

// StatsSource reports, per connector, the partitions a consumer of this
// process was assigned and the earliest expiry of the records it has not
// done (zero: none); kafka.Consumer.Stats is one.
type StatsSource func(fn func(connector string, partitions int, oldest time.Time))

// AddSource adds a consumer whose routes (named by connector) Tick reads:
// assigned partitions set each connector's share of its rate limit, and
// the oldest pending records give time to loss. Safe for concurrent use
// with Reshare and Tick.
func (h *Health) AddSource(src StatsSource) {
	h.srcMu.Lock()
	h.sources = append(h.sources, src)
	h.srcMu.Unlock()
}

// sourcesNow returns the sources added so far.
func (h *Health) sourcesNow() []StatsSource {
	h.srcMu.Lock()
	defer h.srcMu.Unlock()
	return h.sources
}

// collect reads the sources: per connector, the partitions assigned here
// and the earliest expiry pending.
func (h *Health) collect() (parts map[string]int, oldest map[string]time.Time) {
	parts, oldest = map[string]int{}, map[string]time.Time{}
	for _, src := range h.sourcesNow() {
		src(func(name string, n int, exp time.Time) {
			parts[name] += n
			if cur, ok := oldest[name]; !exp.IsZero() && (!ok || exp.Before(cur)) {
				oldest[name] = exp
			}
		})
	}
	return parts, oldest
}

// Tick does one round of Run's work at now: every gate notices changes
// that come with time, each connector's rate-limit share follows the
// partitions assigned here, and time to loss is published.
func (h *Health) Tick(now time.Time) {
	parts, oldest := h.collect()
	hasSources := len(h.sourcesNow()) > 0
	for _, ch := range h.all() {
		name := ch.conn.Name
		ch.gate.Status(now)
		if hasSources {
			ch.gate.Limiter().SetShare(parts[name], h.totalPartitions(ch))
			var ingest time.Time
			if exp, ok := oldest[name]; ok {
				ingest = exp.Add(-ch.conn.Retry.MaxAge)
			}
			h.SetOldestPending(name, ingest)
		}
		ch.metrics.SetTimeToLoss(ch.oldestTime(), ch.conn.Retry.MaxAge, now)
	}
}

// Reshare sets each connector's rate-limit share from the partitions
// assigned here now, as Tick does every second: a consumer calls it after
// every rebalance, so that a process does not send at its old share (or,
// new, at the whole rate) until the next tick. Safe for concurrent use;
// a nil *Health does nothing.
func (h *Health) Reshare() {
	if h == nil || len(h.sourcesNow()) == 0 {
		return
	}
	parts, _ := h.collect()
	for _, ch := range h.all() {
		ch.gate.Limiter().SetShare(parts[ch.conn.Name], h.totalPartitions(ch))
	}
}

// totalPartitions is the number of a connector's partitions over its
// main topic and retry tiers.
func (h *Health) totalPartitions(ch *connectorHealth) int {
	if h.cfg.Partitions != nil {
		return h.cfg.Partitions(ch.conn)
	}
	return 12 * (1 + len(ch.conn.Retry.Backoff))
}
