package health

import (
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
)

// Update makes the gates follow a reloaded configuration: a connector
// with the same settings (config.ConnectorHash) keeps its gate, breaker
// and throttling included; a new or changed one gets a fresh gate, with
// the state stored for its name applied (it admits at once when the
// store has been read); a connector no longer in conns loses its gate,
// so Gate, View and SetAdmin no longer know its name. A fresh gate's rate
// limit starts at this process's share of the partitions assigned now
// (as Reshare), not at the whole cluster's rate until the next Tick. Call
// it before the stages build routes with the new gates.
func (h *Health) Update(conns []*pipeline.Connector) {
	h.update(conns)
	h.Reshare()
}

// update replaces the gates of new and changed connectors (see Update).
func (h *Health) update(conns []*pipeline.Connector) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	gates := make(map[string]*connectorHealth, len(conns))
	names := make([]string, 0, len(conns))
	for _, c := range conns {
		ch := h.gates[c.Name]
		if ch == nil || config.ConnectorHash(ch.conn) != config.ConnectorHash(c) {
			ch = h.newConnectorHealth(c)
			if h.cfg.Store != nil && h.unheld {
				ch.gate.SetAdmin(h.cfg.Store.Get(c.Name), now)
				ch.gate.Unhold(now)
			}
		}
		gates[c.Name] = ch
		names = append(names, c.Name)
	}
	h.gates, h.names = gates, names
}

// all returns every connector's health, in configuration order.
func (h *Health) all() []*connectorHealth {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*connectorHealth, 0, len(h.names))
	for _, n := range h.names {
		out = append(out, h.gates[n])
	}
	return out
}
