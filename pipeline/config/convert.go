package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
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
	if s, ok := d.str(raw.SignatureSecret); ok {
		c.SignatureSecret = s.val
	}
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
	c.TLS = d.tlsConfig(raw.TLS, b.DefRange, filepath.Dir(c.File))
	d.health(c, &raw)
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

// configValue is one string value with the range to report it at; key
// and keyRng are set for map entries.
type configValue struct {
	key, val    string
	keyRng, rng hcl.Range
}

// str converts attr to a string; ok is false when attr is absent or null.
func (d *configDecoder) str(attr *hcl.Attribute) (configValue, bool) {
	v, ok := d.value(attr, cty.String)
	if !ok {
		return configValue{}, false
	}
	return configValue{val: v.AsString(), rng: attr.Expr.Range()}, true
}

// value evaluates attr and converts it to ty. ok is false when attr is
// absent or null (both mean "use the default"), or on an error.
func (d *configDecoder) value(attr *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	if attr == nil {
		return cty.NilVal, false
	}
	return d.convert(attr.Expr, ty, attr.Name, true)
}

// convert evaluates expr and converts it to ty, reporting problems under
// the attribute name. A null value is an error unless nullOK.
func (d *configDecoder) convert(expr hcl.Expression, ty cty.Type, name string, nullOK bool) (cty.Value, bool) {
	v, diags := expr.Value(d.ctx)
	d.diags = append(d.diags, explainEnv(diags)...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if v.IsNull() {
		if !nullOK {
			d.errorAt(expr.Range(), "Invalid "+name, "The value must not be null.")
		}
		return cty.NilVal, false
	}
	v, err := convert.Convert(v, ty)
	if err == nil && !v.IsWhollyKnown() {
		err = errors.New("the value must be known")
	}
	if err != nil {
		d.errorAt(expr.Range(), "Invalid "+name, fmt.Sprintf("Unsuitable value: %s.", err))
		return cty.NilVal, false
	}
	return v, true
}

// stringList converts attr to a list of strings. Written as a literal
// list, each element is converted on its own and keeps its own range; any
// other expression (a for expression, say) is converted whole and its
// elements share its range. ok is false when attr is absent or null, or
// on an error.
func (d *configDecoder) stringList(attr *hcl.Attribute) ([]configValue, bool) {
	if attr == nil {
		return nil, false
	}
	exprs, diags := hcl.ExprList(attr.Expr)
	if diags.HasErrors() {
		return d.wholeList(attr)
	}
	items := make([]configValue, 0, len(exprs))
	ok := true
	for _, e := range exprs {
		v, vok := d.convert(e, cty.String, attr.Name, false)
		if vok {
			items = append(items, configValue{val: v.AsString(), rng: e.Range()})
		}
		ok = ok && vok
	}
	return items, ok
}

// wholeList is stringList for an expression that is not a literal list.
func (d *configDecoder) wholeList(attr *hcl.Attribute) ([]configValue, bool) {
	v, ok := d.value(attr, cty.List(cty.String))
	if !ok {
		return nil, false
	}
	items := make([]configValue, 0, v.LengthInt())
	for _, ev := range v.AsValueSlice() {
		if ev.IsNull() {
			d.errorAt(attr.Expr.Range(), "Invalid "+attr.Name, "An element must not be null.")
			return nil, false
		}
		items = append(items, configValue{val: ev.AsString(), rng: attr.Expr.Range()})
	}
	return items, true
}

// stringMap converts attr to string entries, in source order when written
// as a literal map (so each key and value keeps its own range, and a
// repeated key is seen), else in key order with attr's range.
func (d *configDecoder) stringMap(attr *hcl.Attribute) ([]configValue, bool) {
	if attr == nil {
		return nil, false
	}
	pairs, diags := hcl.ExprMap(attr.Expr)
	if diags.HasErrors() {
		return d.wholeMap(attr)
	}
	items := make([]configValue, 0, len(pairs))
	ok := true
	for _, p := range pairs {
		k, kok := d.convert(p.Key, cty.String, attr.Name, false)
		v, vok := d.convert(p.Value, cty.String, attr.Name, false)
		if kok && vok {
			items = append(items, configValue{key: k.AsString(), val: v.AsString(), keyRng: p.Key.Range(), rng: p.Value.Range()})
		}
		ok = ok && kok && vok
	}
	return items, ok
}

// wholeMap is stringMap for an expression that is not a literal map.
func (d *configDecoder) wholeMap(attr *hcl.Attribute) ([]configValue, bool) {
	v, ok := d.value(attr, cty.Map(cty.String))
	if !ok {
		return nil, false
	}
	rng := attr.Expr.Range()
	items := make([]configValue, 0, v.LengthInt())
	for k, ev := range v.AsValueMap() {
		if ev.IsNull() {
			d.errorAt(rng, "Invalid "+attr.Name, fmt.Sprintf("The value of %q must not be null.", k))
			return nil, false
		}
		items = append(items, configValue{key: k, val: ev.AsString(), keyRng: rng, rng: rng})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	return items, true
}

// evalContext is the context every expression is evaluated in: no
// variables, and the one function env().
func evalContext(lookupEnv func(string) (string, bool)) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc(lookupEnv)}}
}

// unsetEnvError is env()'s error for a variable that is not set.
type unsetEnvError struct{ name string }

func (e *unsetEnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set", e.name)
}

// envFunc returns env(name): the value of the environment variable name,
// as lookupEnv reports it. A set but empty variable gives ""; an unset one
// is an *unsetEnvError.
func envFunc(lookupEnv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, which must be set.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			if name == "" {
				return cty.UnknownVal(cty.String), errors.New("the variable name must not be empty")
			}
			v, ok := lookupEnv(name)
			if !ok {
				return cty.UnknownVal(cty.String), &unsetEnvError{name: name}
			}
			return cty.StringVal(v), nil
		},
	})
}

// explainEnv rewrites HCL's generic "Error in function call" diagnostic
// for an unset variable into one that names the variable. The Subject,
// set by HCL, stays at the call.
func explainEnv(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
		var unset *unsetEnvError
		if !ok || !errors.As(extra.FunctionCallError(), &unset) {
			continue
		}
		d.Summary = "Environment variable not set"
		d.Detail = fmt.Sprintf("env(%q) reads %s, which is not set.", unset.name, unset.name)
	}
	return diags
}
