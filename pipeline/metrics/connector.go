package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConnectorMetrics records one connector's deliveries: Prometheus series
// resolved once, and the 3-hour window behind GET /v1/connectors/{name}.
// Its methods are safe for concurrent use; a nil *ConnectorMetrics ignores
// every call.
type ConnectorMetrics struct {
	name      string
	m         *Metrics
	window    *Window
	delivered prometheus.Counter
	duration  prometheus.Observer
	endToEnd  prometheus.Observer
	inFlight  prometheus.Gauge
	expired   prometheus.Counter
	outputs   prometheus.Counter
}

// Connector returns the metrics of the named connector, creating them on
// first use. Call it once per connector at start-up, not per event.
func (m *Metrics) Connector(name string) *ConnectorMetrics {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cm := m.connectors[name]; cm != nil {
		return cm
	}
	cm := &ConnectorMetrics{
		name:      name,
		m:         m,
		window:    &Window{},
		delivered: m.delivered.WithLabelValues(name, "2xx"),
		duration:  m.duration.WithLabelValues(name),
		endToEnd:  m.endToEnd.WithLabelValues(name),
		inFlight:  m.inFlight.WithLabelValues(name),
		expired:   m.expired.WithLabelValues(name),
		outputs:   m.fanoutOutputs.WithLabelValues(name),
	}
	m.connectors[name] = cm
	return cm
}

// Delivered records a request the endpoint acknowledged after took, for an
// event ingested at ingest.
func (c *ConnectorMetrics) Delivered(took time.Duration, ingest time.Time) {
	if c == nil {
		return
	}
	now := time.Now()
	c.delivered.Inc()
	c.duration.Observe(took.Seconds())
	c.endToEnd.Observe(now.Sub(ingest).Seconds())
	c.window.Observe(now, true, took)
}

// Failed records a failed request of the given class ("4xx", "5xx",
// "3xx", "timeout", "network").
func (c *ConnectorMetrics) Failed(class string, took time.Duration) {
	if c == nil {
		return
	}
	c.m.failed.WithLabelValues(c.name, class).Inc()
	c.duration.Observe(took.Seconds())
	c.window.Observe(time.Now(), false, took)
}

// InFlight adds delta to the in-flight gauge.
func (c *ConnectorMetrics) InFlight(delta float64) {
	if c != nil {
		c.inFlight.Add(delta)
	}
}

// Retried records an event moved to retry tier.
func (c *ConnectorMetrics) Retried(tier int) {
	if c != nil {
		c.m.retried.WithLabelValues(c.name, strconv.Itoa(tier)).Inc()
	}
}

// Expired records an event moved to the DLQ for being older than max_age.
func (c *ConnectorMetrics) Expired() {
	if c != nil {
		c.expired.Inc()
	}
}

// FannedOut records a body written to the connector's topic.
func (c *ConnectorMetrics) FannedOut() {
	if c != nil {
		c.outputs.Inc()
	}
}

// Stats returns the connector's DT-style metrics over the last 3 hours.
func (c *ConnectorMetrics) Stats() WindowStats {
	if c == nil {
		return WindowStats{}
	}
	return c.window.Stats(time.Now())
}
