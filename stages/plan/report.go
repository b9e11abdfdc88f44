package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages"
)

// Report is everything `hookpipe plan` prints.
type Report struct {
	// Dir is the connectors directory planned.
	Dir string
	// NextHash is config.Hash of Dir's connectors.
	NextHash string
	// Current is the configuration in force, from GET /v1/config; nil
	// when no API was asked (Changes then come from the topics).
	Current *stages.ConfigView
	// API is the address Current came from.
	API string
	// Changes are the connector changes.
	Changes []Change
	// Topics are the topics to create or correct; nil with NoKafka.
	Topics []TopicChange
	// NoKafka is set when no broker was given: no topics, no counts.
	NoKafka bool
	// Sample is the recent events counted, with EventsTopic their topic.
	Sample      Sample
	EventsTopic string
	// Routes are the routing counts of new and changed filters.
	Routes []Route
}

// Route is how many sampled events one connector's filter would route.
type Route struct {
	Connector string
	// Total and ByType count what the new filter routes.
	Total  int
	ByType map[string]int
	// Was is what the filter in force routes; -1 for a new connector.
	Was int
}

// AddRoutes fills r.Routes for every change whose filter is new or
// changed; next are the directory's connectors.
func (r *Report) AddRoutes(next []*pipeline.Connector) {
	old := map[string]stages.ConnectorConfig{}
	if r.Current != nil {
		for _, c := range r.Current.Connectors {
			old[c.Name] = c
		}
	}
	for _, ch := range r.Changes {
		if !ch.EventsChanged {
			continue
		}
		i := slices.IndexFunc(next, func(c *pipeline.Connector) bool { return c.Name == ch.Connector })
		if i < 0 {
			continue
		}
		route := Route{Connector: ch.Connector, Was: -1}
		route.Total, route.ByType = r.Sample.Routed(next[i])
		if o, ok := old[ch.Connector]; ok && ch.Kind == Modify {
			route.Was, _ = r.Sample.Routed(&pipeline.Connector{Events: o.Events, Disabled: o.Disabled})
		}
		r.Routes = append(r.Routes, route)
	}
}

// Write prints the report for people. It never prints a secret: Changes
// and Topics hold none.
func (r *Report) Write(w io.Writer) {
	against := "the topics on the brokers"
	if r.Current != nil {
		against = fmt.Sprintf("%s (config %s, loaded %s)", r.API, short(r.Current.Hash), r.Current.LoadedAt.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "plan: %s (config %s) against %s\n", r.Dir, short(r.NextHash), against)
	if r.Current != nil && r.Current.Hash == r.NextHash {
		fmt.Fprintln(w, "\nconnectors: no change (same config hash)")
	} else {
		r.writeChanges(w)
	}
	if r.NoKafka {
		fmt.Fprintln(w, "\ntopics and routing counts: not checked (give --brokers)")
		return
	}
	fmt.Fprintln(w, "\ntopics:")
	if len(r.Topics) == 0 {
		fmt.Fprintln(w, "  no change")
	}
	for _, t := range r.Topics {
		if t.Create {
			fmt.Fprintf(w, "  + create  %s (retention.ms %s)\n", t.Topic, t.To)
		} else {
			fmt.Fprintf(w, "  ~ correct %s retention.ms %s → %s\n", t.Topic, orNone(t.From), t.To)
		}
	}
	r.writeRoutes(w)
}

func (r *Report) writeChanges(w io.Writer) {
	fmt.Fprintln(w, "\nconnectors:")
	if len(r.Changes) == 0 {
		fmt.Fprintln(w, "  no change")
	}
	for _, c := range r.Changes {
		switch c.Kind {
		case Add:
			fmt.Fprintf(w, "  + %s (new)\n", c.Connector)
		case Remove:
			fmt.Fprintf(w, "  - %s (removed; its topics stay)\n", c.Connector)
		default:
			fmt.Fprintf(w, "  ~ %s\n", c.Connector)
		}
		width := 14 // the column widens for circuit_breaker.failure_ratio and the like
		for _, a := range c.Attrs {
			width = max(width, len(a.Name))
		}
		for _, a := range c.Attrs {
			if c.Kind == Add {
				fmt.Fprintf(w, "      %-*s %s\n", width, a.Name, a.To)
			} else {
				fmt.Fprintf(w, "      %-*s %s → %s\n", width, a.Name, a.From, a.To)
			}
		}
	}
}

func (r *Report) writeRoutes(w io.Writer) {
	if len(r.Routes) == 0 {
		return
	}
	fmt.Fprintf(w, "\nnew and changed filters, over the last %d event(s) of %s", r.Sample.N, r.EventsTopic)
	if r.Sample.N > 0 {
		fmt.Fprintf(w, " (%s to %s)", r.Sample.From.UTC().Format(time.RFC3339), r.Sample.To.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w, ":")
	for _, rt := range r.Routes {
		was := ""
		if rt.Was >= 0 {
			was = fmt.Sprintf(" (now %d)", rt.Was)
		}
		types := make([]string, 0, len(rt.ByType))
		for t, n := range rt.ByType {
			types = append(types, fmt.Sprintf("%s %d", t, n))
		}
		slices.Sort(types)
		fmt.Fprintf(w, "  %s would route %d%s", rt.Connector, rt.Total, was)
		if len(types) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(types, ", "))
		}
		fmt.Fprintln(w)
	}
}

// short cuts a "sha256:<hex>" hash to 12 hex digits for display.
func short(h string) string {
	if len(h) > len("sha256:")+12 {
		return h[:len("sha256:")+12]
	}
	return h
}

func orNone(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}
