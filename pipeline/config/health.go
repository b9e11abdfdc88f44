package config

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Limits on the endpoint-health attributes, checked by LoadConnectors.
const (
	maxRateLimit     = 1e6
	maxMinRequests   = 1000000
	maxBreakerWindow = time.Hour
	maxDisableAfter  = 30 * 24 * time.Hour
)

// rawBreaker is a connector's circuit_breaker block as gohcl decodes it.
type rawBreaker struct {
	FailureRatio *hcl.Attribute `hcl:"failure_ratio,optional"`
	MinRequests  *hcl.Attribute `hcl:"min_requests,optional"`
	Window       *hcl.Attribute `hcl:"window,optional"`
	Cooldown     *hcl.Attribute `hcl:"cooldown,optional"`
	Disabled     *hcl.Attribute `hcl:"disabled,optional"`
}

// health converts rate_limit, disable_after and the circuit_breaker block
// into c; omitted attributes keep their defaults.
func (d *configDecoder) health(c *pipeline.Connector, raw *rawConnector) {
	c.CircuitBreaker = pipeline.DefaultCircuitBreaker()
	c.DisableAfter = pipeline.DefaultDisableAfter
	if f, ok := d.float(raw.RateLimit, 0, maxRateLimit, "requests per second for the whole cluster"); ok {
		c.RateLimit = f
	}
	if s, ok := d.str(raw.DisableAfter); ok {
		c.DisableAfter = d.duration(s, "Invalid disable_after", maxDisableAfter, "")
	}
	if raw.CircuitBreaker == nil {
		return
	}
	b, cb := raw.CircuitBreaker, &c.CircuitBreaker
	if f, ok := d.float(b.FailureRatio, 0, 1, "the share of failed attempts that opens the breaker"); ok {
		cb.FailureRatio = f
	}
	if n, ok := d.number(b.MinRequests, 1, maxMinRequests); ok {
		cb.MinRequests = n
	}
	if s, ok := d.str(b.Window); ok {
		cb.Window = d.duration(s, "Invalid circuit_breaker window", maxBreakerWindow, "")
	}
	if s, ok := d.str(b.Cooldown); ok {
		cb.Cooldown = d.duration(s, "Invalid circuit_breaker cooldown", pipeline.MaxBreakerCooldown,
			" Failed probes double the cooldown up to that maximum.")
	}
	if v, ok := d.value(b.Disabled, cty.Bool); ok {
		cb.Disabled = v.True()
	}
}

// float converts attr to a number in (lo, hi]; what says what the number
// means, for the message.
func (d *configDecoder) float(attr *hcl.Attribute, lo, hi float64, what string) (float64, bool) {
	v, ok := d.value(attr, cty.Number)
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if f <= lo || f > hi {
		d.errorAt(attr.Expr.Range(), "Invalid "+attr.Name, fmt.Sprintf(
			"%s (%s) must be greater than %g and at most %g, not %s.",
			attr.Name, what, lo, hi, v.AsBigFloat().Text('g', 10)))
		return 0, false
	}
	return f, true
}
