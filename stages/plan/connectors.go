package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages"
)

// Change kinds.
const (
	Add    = "add"
	Remove = "remove"
	Modify = "change"
)

// Change is what applying the directory does to one connector.
type Change struct {
	// Connector is the connector's name.
	Connector string
	// Kind is Add, Remove or Modify.
	Kind string
	// Attrs are, for Modify, the attributes that differ; for Add, every
	// attribute (From empty); for Remove, none.
	Attrs []Attr
	// EventsChanged is true for Add, and for Modify when the events filter
	// (or disabled) differs: such a connector gets a routing count.
	EventsChanged bool
}

// Attr is one attribute's value before and after. Values never hold a
// secret.
type Attr struct {
	Name, From, To string
}

// attribute names one shown attribute and how to print it.
type attribute struct {
	name string
	show func(stages.ConnectorConfig) string
}

// attributes are compared in this order, the order of the README's table.
var attributes = []attribute{
	{"url", func(c stages.ConnectorConfig) string { return c.URL }},
	{"events", func(c stages.ConnectorConfig) string { return listOr(c.Events, "all") }},
	{"labels", func(c stages.ConnectorConfig) string { return listOr(c.Labels, "none") }},
	{"signature", signature},
	{"headers", func(c stages.ConnectorConfig) string { return listOr(sortedKeys(c.Headers), "none") }},
	{"timeout", func(c stages.ConnectorConfig) string { return c.Timeout }},
	{"max_in_flight", func(c stages.ConnectorConfig) string { return fmt.Sprint(c.MaxInFlight) }},
	{"disabled", func(c stages.ConnectorConfig) string { return fmt.Sprint(c.Disabled) }},
	{"rate_limit", rateLimit},
	{"disable_after", func(c stages.ConnectorConfig) string {
		return cmp.Or(c.DisableAfter, pipeline.DefaultDisableAfter.String())
	}},
	{"circuit_breaker.failure_ratio", func(c stages.ConnectorConfig) string { return fmt.Sprint(breaker(c).FailureRatio) }},
	{"circuit_breaker.min_requests", func(c stages.ConnectorConfig) string { return fmt.Sprint(breaker(c).MinRequests) }},
	{"circuit_breaker.window", func(c stages.ConnectorConfig) string { return breaker(c).Window }},
	{"circuit_breaker.cooldown", func(c stages.ConnectorConfig) string { return breaker(c).Cooldown }},
	{"circuit_breaker.disabled", func(c stages.ConnectorConfig) string { return fmt.Sprint(breaker(c).Disabled) }},
	{"http2", func(c stages.ConnectorConfig) string { return fmt.Sprint(c.HTTP2) }},
	{"ordering", func(c stages.ConnectorConfig) string { return cmp.Or(c.Ordering, pipeline.OrderingNone) }},
	{"retry.backoff", func(c stages.ConnectorConfig) string { return listOr(c.Retry.Backoff, "default") }},
	{"retry.max_age", func(c stages.ConnectorConfig) string { return c.Retry.MaxAge }},
	{"tls", func(c stages.ConnectorConfig) string { return fmt.Sprint(c.TLS) }},
}

func rateLimit(c stages.ConnectorConfig) string {
	if c.RateLimit == 0 {
		return "none"
	}
	return fmt.Sprint(c.RateLimit)
}

// breaker returns c's circuit_breaker; a process that shows none (older
// than the attribute) counts as the defaults, as the loader fills them.
func breaker(c stages.ConnectorConfig) stages.CircuitBreakerView {
	if c.CircuitBreaker != nil {
		return *c.CircuitBreaker
	}
	d := pipeline.DefaultCircuitBreaker()
	return stages.CircuitBreakerView{FailureRatio: d.FailureRatio, MinRequests: d.MinRequests,
		Window: d.Window.String(), Cooldown: d.Cooldown.String(), Disabled: d.Disabled}
}

func signature(c stages.ConnectorConfig) string {
	if c.Signature == nil {
		return "unsigned"
	}
	return fmt.Sprintf("%s, %d secret(s)", c.Signature.Scheme, c.Signature.Secrets)
}

// Connectors compares the connectors in force (cur, from GET /v1/config)
// with those of a directory (next). Changes come sorted by name.
func Connectors(cur []stages.ConnectorConfig, next []*pipeline.Connector) []Change {
	have := make(map[string]stages.ConnectorConfig, len(cur))
	for _, c := range cur {
		have[c.Name] = c
	}
	var out []Change
	for _, n := range next {
		nv := stages.NewConnectorConfig(n)
		old, ok := have[n.Name]
		delete(have, n.Name)
		switch {
		case !ok:
			out = append(out, Change{Connector: n.Name, Kind: Add, Attrs: diff(stages.ConnectorConfig{}, nv, true), EventsChanged: true})
		case old.Hash != nv.Hash:
			attrs := diff(old, nv, false)
			if old.SecretsHash != nv.SecretsHash {
				attrs = append(attrs, Attr{Name: "secrets", From: "(hidden)", To: "changed (signature secrets or header values; not shown)"})
			}
			if len(attrs) == 0 {
				attrs = append(attrs, Attr{Name: "other", From: "(hidden)", To: "changed (tls certificates)"})
			}
			out = append(out, Change{Connector: n.Name, Kind: Modify, Attrs: attrs, EventsChanged: changedFilter(attrs)})
		}
	}
	for name := range have {
		out = append(out, Change{Connector: name, Kind: Remove})
	}
	slices.SortFunc(out, func(a, b Change) int { return strings.Compare(a.Connector, b.Connector) })
	return out
}

// diff lists the attributes whose shown values differ (all when every is set).
func diff(old, nv stages.ConnectorConfig, every bool) []Attr {
	var out []Attr
	for _, a := range attributes {
		from, to := a.show(old), a.show(nv)
		if every {
			out = append(out, Attr{Name: a.name, To: to})
		} else if from != to {
			out = append(out, Attr{Name: a.name, From: from, To: to})
		}
	}
	return out
}

func changedFilter(attrs []Attr) bool {
	return slices.ContainsFunc(attrs, func(a Attr) bool { return a.Name == "events" || a.Name == "disabled" })
}

func listOr(vs []string, none string) string {
	if len(vs) == 0 {
		return none
	}
	return strings.Join(vs, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
