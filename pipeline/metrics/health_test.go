package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The state series is 1 for the current state only; time to loss is the
// oldest pending event's age and what is left of max_age.
func TestHealthMetrics(t *testing.T) {
	m := NewMetrics()
	c := m.Connector("billing")
	states := []string{"ACTIVE", "CIRCUIT_OPEN", "THROTTLED"}
	c.SetState("ACTIVE", states)
	c.SetState("CIRCUIT_OPEN", states)
	c.Throttled()
	now := time.Now()
	c.SetTimeToLoss(now.Add(-90*time.Second), 10*time.Minute, now)
	want := `
# HELP hookpipe_connector_state 1 for the connector's current state (ACTIVE, CIRCUIT_OPEN, THROTTLED, USER_DISABLED, SYSTEM_DISABLED), 0 for the others.
# TYPE hookpipe_connector_state gauge
hookpipe_connector_state{connector="billing",state="ACTIVE"} 0
hookpipe_connector_state{connector="billing",state="CIRCUIT_OPEN"} 1
hookpipe_connector_state{connector="billing",state="THROTTLED"} 0
# HELP hookpipe_oldest_pending_seconds Age of the connector's oldest event not yet delivered in this process (main topic and retry tiers); 0 when none.
# TYPE hookpipe_oldest_pending_seconds gauge
hookpipe_oldest_pending_seconds{connector="billing"} 90
# HELP hookpipe_seconds_until_expiry Time left before the connector's oldest pending event reaches max_age and goes to the DLQ; max_age when none.
# TYPE hookpipe_seconds_until_expiry gauge
hookpipe_seconds_until_expiry{connector="billing"} 510
# HELP hookpipe_throttled_total Answers 429 or 503 with Retry-After that stopped the connector until then.
# TYPE hookpipe_throttled_total counter
hookpipe_throttled_total{connector="billing"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"hookpipe_connector_state", "hookpipe_oldest_pending_seconds", "hookpipe_seconds_until_expiry", "hookpipe_throttled_total"); err != nil {
		t.Error(err)
	}
	if age, left := TimeToLoss(time.Time{}, time.Hour, now); age != 0 || left != time.Hour {
		t.Errorf("nothing pending: age %v left %v", age, left)
	}
	if _, left := TimeToLoss(now.Add(-2*time.Hour), time.Hour, now); left != 0 {
		t.Errorf("past max_age: left %v, want 0", left)
	}
}
