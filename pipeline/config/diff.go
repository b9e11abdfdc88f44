package config

import (
	"slices"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Diff is what a reload of connectors.d changes: connectors by name,
// each list sorted by name. A connector is Changed when its ConnectorHash
// differs (any attribute, a secret or header value included).
type Diff struct {
	Added, Removed, Changed, Unchanged []*pipeline.Connector // Removed: the old ones; the others: the new ones
}

// Empty reports whether the diff changes nothing.
func (d Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// Compare returns the diff from old to new.
func Compare(old, new []*pipeline.Connector) Diff {
	byName := make(map[string]*pipeline.Connector, len(old))
	for _, c := range old {
		byName[c.Name] = c
	}
	var d Diff
	seen := make(map[string]bool, len(new))
	for _, c := range new {
		seen[c.Name] = true
		o := byName[c.Name]
		switch {
		case o == nil:
			d.Added = append(d.Added, c)
		case ConnectorHash(o) != ConnectorHash(c):
			d.Changed = append(d.Changed, c)
		default:
			d.Unchanged = append(d.Unchanged, c)
		}
	}
	for _, c := range old {
		if !seen[c.Name] {
			d.Removed = append(d.Removed, c)
		}
	}
	for _, l := range [][]*pipeline.Connector{d.Added, d.Removed, d.Changed, d.Unchanged} {
		slices.SortFunc(l, func(a, b *pipeline.Connector) int { return strings.Compare(a.Name, b.Name) })
	}
	return d
}

// Names returns the connectors' names.
func Names(cs []*pipeline.Connector) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
