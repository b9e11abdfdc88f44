package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// Limits on connector attributes, checked by LoadConnectors.
const (
	maxTimeout     = 5 * time.Minute
	maxMaxInFlight = 100000
	// maxRetryTiers bounds len(backoff): each tier is a Kafka topic.
	maxRetryTiers = 20
	// topicRetention is the retention of the connector and retry topics:
	// an event cannot wait in Kafka, or stay deliverable, for longer.
	topicRetention = 12 * time.Hour
)

// rawConnector is a connector block as gohcl decodes it: gohcl enforces
// the schema (unknown or repeated arguments, at most one retry block) and
// each argument stays an *hcl.Attribute, nil when absent, so the convert
// step can report a problem at the exact value or element at fault.
type rawConnector struct {
	URL             *hcl.Attribute `hcl:"url,optional"`
	Events          *hcl.Attribute `hcl:"events,optional"`
	Labels          *hcl.Attribute `hcl:"labels,optional"`
	SignatureSecret *hcl.Attribute `hcl:"signature_secret,optional"`
	Headers         *hcl.Attribute `hcl:"headers,optional"`
	Timeout         *hcl.Attribute `hcl:"timeout,optional"`
	MaxInFlight     *hcl.Attribute `hcl:"max_in_flight,optional"`
	Disabled        *hcl.Attribute `hcl:"disabled,optional"`
	Retry           *rawRetry      `hcl:"retry,block"`
	TLS             *rawTLS        `hcl:"tls,block"`
	RateLimit       *hcl.Attribute `hcl:"rate_limit,optional"`
	DisableAfter    *hcl.Attribute `hcl:"disable_after,optional"`
	CircuitBreaker  *rawBreaker    `hcl:"circuit_breaker,block"`
	Signature       *rawSignature  `hcl:"signature,block"`
	HTTP2           *hcl.Attribute `hcl:"http2,optional"`
	Ordering        *hcl.Attribute `hcl:"ordering,optional"`
}

// rawRetry is a connector's retry block as gohcl decodes it.
type rawRetry struct {
	Backoff *hcl.Attribute `hcl:"backoff,optional"`
	MaxAge  *hcl.Attribute `hcl:"max_age,optional"`
}

// configDecoder converts raw attributes to typed values, collecting diagnostics
// instead of stopping at the first.
type configDecoder struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
}

// errorAt records an error diagnostic at rng.
func (d *configDecoder) errorAt(rng hcl.Range, summary, detail string) {
	d.diags = append(d.diags, errorAt(rng, summary, detail))
}

// connector decodes, converts and validates one connector block. It
// returns nil when the block had errors (they are in d.diags).
func (d *configDecoder) connector(b *hcl.Block) *pipeline.Connector {
	before := len(d.diags)
	var raw rawConnector
	d.diags = append(d.diags, gohcl.DecodeBody(b.Body, d.ctx, &raw)...)
	c := &pipeline.Connector{
		Name:        b.Labels[0],
		File:        b.DefRange.Filename,
		Timeout:     pipeline.DefaultTimeout,
		MaxInFlight: pipeline.DefaultMaxInFlight,
		Retry:       pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: pipeline.DefaultMaxAge},
	}
	c.URL = d.url(raw.URL, b.DefRange)
	c.Events = d.events(raw.Events)
	c.Labels = d.labels(raw.Labels)
	c.Headers = d.headers(raw.Headers)
	d.signing(c, raw.SignatureSecret, raw.Signature, b.DefRange)
	if s, ok := d.str(raw.Timeout); ok {
		c.Timeout = d.duration(s, "Invalid timeout", maxTimeout, "")
	}
	if n, ok := d.number(raw.MaxInFlight, 1, maxMaxInFlight); ok {
		c.MaxInFlight = n
	}
	if v, ok := d.value(raw.Disabled, cty.Bool); ok {
		c.Disabled = v.True()
	}
	if raw.Retry != nil {
		c.Retry = d.retry(raw.Retry)
	}
	c.TLS = d.tlsConfig(raw.TLS, b.DefRange, c)
	if v, ok := d.value(raw.HTTP2, cty.Bool); ok && v.True() {
		c.HTTP2 = true
		if c.URL != nil && c.URL.Scheme != "https" {
			d.errorAt(raw.HTTP2.Expr.Range(), "Invalid http2", "http2 = true needs an https url: HTTP/2 is negotiated in the TLS handshake.")
		}
	}
	d.health(c, &raw)
	c.Ordering = d.ordering(raw.Ordering, c.Name)
	if d.diags[before:].HasErrors() {
		return nil
	}
	return c
}

// retry converts a retry block; omitted attributes keep their defaults.
func (d *configDecoder) retry(raw *rawRetry) pipeline.RetryPolicy {
	p := pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: pipeline.DefaultMaxAge}
	retention := fmt.Sprintf(" The connector and retry topics keep events for %s, so Kafka "+
		"would delete them before then.", shortDuration(topicRetention))
	if s, ok := d.str(raw.MaxAge); ok {
		p.MaxAge = d.duration(s, "Invalid retry max_age", topicRetention, retention)
	}
	if raw.Backoff == nil {
		return p
	}
	items, ok := d.stringList(raw.Backoff)
	switch {
	case !ok:
		return p
	case len(items) == 0:
		d.errorAt(raw.Backoff.Expr.Range(), "Invalid retry backoff",
			"The list needs at least one delay; omit backoff for the default 10s, 1m, 5m, 30m, 1h.")
	case len(items) > maxRetryTiers:
		d.errorAt(raw.Backoff.Expr.Range(), "Invalid retry backoff", fmt.Sprintf(
			"The list has %d delays; at most %d retry tiers are allowed.", len(items), maxRetryTiers))
	}
	p.Backoff = make([]time.Duration, 0, len(items))
	for _, it := range items {
		p.Backoff = append(p.Backoff, d.duration(it, "Invalid retry backoff", topicRetention, retention))
	}
	return p
}

// duration parses it as a Go duration in (0, limit]. why, when not
// empty, is a sentence explaining the limit.
func (d *configDecoder) duration(it configValue, summary string, limit time.Duration, why string) time.Duration {
	v, err := time.ParseDuration(it.val)
	switch {
	case err != nil:
		d.errorAt(it.rng, summary, fmt.Sprintf(
			"%q is not a duration; write a number with a unit, such as \"10s\", \"1m\" or \"1h30m\".", it.val))
	case v <= 0:
		d.errorAt(it.rng, summary, fmt.Sprintf("The duration must be greater than zero, not %q.", it.val))
	case v > limit:
		d.errorAt(it.rng, summary, fmt.Sprintf("%q is longer than the maximum, %s.%s", it.val, shortDuration(limit), why))
	}
	return v
}

// shortDuration formats d without zero minutes and seconds: "12h", "5m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// number converts attr to a whole number in [lo, hi].
func (d *configDecoder) number(attr *hcl.Attribute, lo, hi int64) (int, bool) {
	v, ok := d.value(attr, cty.Number)
	if !ok {
		return 0, false
	}
	f := v.AsBigFloat()
	n, _ := f.Int64()
	if !f.IsInt() || n < lo || n > hi {
		d.errorAt(attr.Expr.Range(), "Invalid "+attr.Name, fmt.Sprintf(
			"%s must be a whole number from %d to %d, not %s.", attr.Name, lo, hi, f.Text('g', 10)))
		return 0, false
	}
	return int(n), true
}
