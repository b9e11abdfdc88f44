package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookpipe/hookpipe/pipeline"
)

// The endpoint-health attributes take their documented defaults when
// omitted, and every attribute of circuit_breaker may be given alone.
func TestLoadConnectorsHealth(t *testing.T) {
	def := pipeline.DefaultCircuitBreaker()
	tests := []struct {
		name, body string
		breaker    pipeline.CircuitBreaker
		rate       float64
		after      time.Duration
	}{
		{"omitted", ``, def, 0, 120 * time.Hour},
		{"empty block", `circuit_breaker {}`, def, 0, 120 * time.Hour},
		{"all set", `rate_limit = 2.5
  disable_after = "10m"
  circuit_breaker {
    failure_ratio = 0.25
    min_requests  = 5
    window        = "1m"
    cooldown      = "2s"
  }`, pipeline.CircuitBreaker{FailureRatio: 0.25, MinRequests: 5, Window: time.Minute, Cooldown: 2 * time.Second}, 2.5, 10 * time.Minute},
		{"disabled", `circuit_breaker { disabled = true }`, pipeline.CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 30 * time.Second, Cooldown: 5 * time.Second, Disabled: true}, 0, 120 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, diags := loadSource(t, connectorSrc("  "+tt.body), nil)
			if len(diags) > 0 || len(cs) != 1 {
				t.Fatalf("got %d connectors, diagnostics %q", len(cs), diags)
			}
			c := cs[0]
			if diff := cmp.Diff(tt.breaker, c.CircuitBreaker); diff != "" {
				t.Errorf("circuit_breaker (-want +got):\n%s", diff)
			}
			if c.RateLimit != tt.rate || c.DisableAfter != tt.after {
				t.Errorf("rate_limit %v disable_after %v, want %v %v", c.RateLimit, c.DisableAfter, tt.rate, tt.after)
			}
		})
	}
}

// Each bad endpoint-health value is reported at the value, naming it.
func TestLoadConnectorsHealthDiagnostics(t *testing.T) {
	for _, tt := range []diagnosticCase{
		{"rate_limit zero", connectorSrc(`  rate_limit = 0`), []string{`x.hcl:3:16: Invalid rate_limit: rate_limit (requests per second for the whole cluster) must be greater than 0 and at most 1e+06, not 0.`}},
		{"rate_limit string", connectorSrc(`  rate_limit = "fast"`), []string{`x.hcl:3:16: Invalid rate_limit: Unsuitable value: a number is required.`}},
		{"disable_after syntax", connectorSrc(`  disable_after = "5 days"`), []string{`x.hcl:3:19: Invalid disable_after: "5 days" is not a duration`}},
		{"disable_after too long", connectorSrc(`  disable_after = "800h"`), []string{`x.hcl:3:19: Invalid disable_after: "800h" is longer than the maximum, 720h.`}},
		{"failure_ratio over 1", connectorSrc(`  circuit_breaker { failure_ratio = 1.5 }`), []string{`x.hcl:3:37: Invalid failure_ratio: failure_ratio (the share of failed attempts that opens the breaker) must be greater than 0 and at most 1, not 1.5.`}},
		{"min_requests zero", connectorSrc(`  circuit_breaker { min_requests = 0 }`), []string{`x.hcl:3:36: Invalid min_requests: min_requests must be a whole number from 1 to 1000000, not 0.`}},
		{"window zero", connectorSrc(`  circuit_breaker { window = "0s" }`), []string{`x.hcl:3:30: Invalid circuit_breaker window: The duration must be greater than zero`}},
		{"cooldown over cap", connectorSrc(`  circuit_breaker { cooldown = "10m" }`), []string{`x.hcl:3:32: Invalid circuit_breaker cooldown: "10m" is longer than the maximum, 5m. Failed probes double`}},
		{"unknown breaker attribute", connectorSrc(`  circuit_breaker { threshold = 3 }`), []string{`x.hcl:3:21: Unsupported argument: An argument named "threshold"`}},
		{"two breaker blocks", connectorSrc("  circuit_breaker {}\n  circuit_breaker {}"), []string{`x.hcl:4:3: Duplicate circuit_breaker block`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, got := loadSource(t, tt.src, nil)
			checkLines(t, got, tt.want)
		})
	}
}
