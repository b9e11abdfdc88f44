package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// healthVecs are the endpoint-health collectors.
type healthVecs struct {
	state       *prometheus.GaugeVec
	throttled   *prometheus.CounterVec
	oldest      *prometheus.GaugeVec
	untilExpiry *prometheus.GaugeVec
}

func newHealthVecs(f factory) *healthVecs {
	return &healthVecs{
		state: f.gaugeVec("hookpipe_connector_state",
			"1 for the connector's current state (ACTIVE, CIRCUIT_OPEN, THROTTLED, USER_DISABLED, SYSTEM_DISABLED), 0 for the others.", "connector", "state"),
		throttled: f.counterVec("hookpipe_throttled_total",
			"Answers 429 or 503 with Retry-After that stopped the connector until then.", "connector"),
		oldest: f.gaugeVec("hookpipe_oldest_pending_seconds",
			"Age of the connector's oldest event not yet delivered in this process (main topic and retry tiers); 0 when none.", "connector"),
		untilExpiry: f.gaugeVec("hookpipe_seconds_until_expiry",
			"Time left before the connector's oldest pending event reaches max_age and goes to the DLQ; max_age when none.", "connector"),
	}
}

// SetState records the connector's current state; states lists every
// state, each exported as its own series (1 for the current one).
func (c *ConnectorMetrics) SetState(state string, states []string) {
	if c == nil {
		return
	}
	h := c.m.health
	for _, s := range states {
		v := 0.0
		if s == state {
			v = 1
		}
		h.state.WithLabelValues(c.name, s).Set(v)
	}
}

// Throttled records an answer that throttled the connector. The request
// is also counted by Failed: DT counts it in errorCount.
func (c *ConnectorMetrics) Throttled() {
	if c != nil {
		c.m.health.throttled.WithLabelValues(c.name).Inc()
	}
}

// SetTimeToLoss records the ingest time of the connector's oldest pending
// event (zero when nothing is pending) at now, against maxAge.
func (c *ConnectorMetrics) SetTimeToLoss(oldest time.Time, maxAge time.Duration, now time.Time) {
	if c == nil {
		return
	}
	age, left := TimeToLoss(oldest, maxAge, now)
	c.m.health.oldest.WithLabelValues(c.name).Set(age.Seconds())
	c.m.health.untilExpiry.WithLabelValues(c.name).Set(left.Seconds())
}

// TimeToLoss returns the age of the oldest pending event ingested at
// oldest, and the time left before it reaches maxAge (never below 0). A
// zero oldest means nothing is pending: age 0, maxAge left.
func TimeToLoss(oldest time.Time, maxAge time.Duration, now time.Time) (age, left time.Duration) {
	if oldest.IsZero() {
		return 0, maxAge
	}
	age = max(now.Sub(oldest), 0)
	return age, max(maxAge-age, 0)
}
