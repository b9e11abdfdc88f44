package config

import (
	"slices"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

func mustLoad(t *testing.T, src string) []*pipeline.Connector {
	t.Helper()
	conns, diags := loadBytes("test.hcl", []byte(src), func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	return conns
}

// compareOld is TestCompare's configuration before the change.
const compareOld = `
connector "keep"   { url = "https://a.example/keep" }
connector "gone"   { url = "https://a.example/gone" }
connector "url"    { url = "https://a.example/url" }
connector "secret" {
  url = "https://a.example/secret"
  signature_secret = "one"
}
connector "filter" { url = "https://a.example/filter" }
`

// Compare sorts each connector into added, removed, changed (any
// attribute, a secret included) or unchanged, by name.
func TestCompare(t *testing.T) {
	old := mustLoad(t, compareOld)
	new := mustLoad(t, `
connector "filter" {
  url    = "https://a.example/filter"
  events = ["temperature"]
}
connector "secret" {
  url = "https://a.example/secret"
  signature_secret = "two"
}
connector "url"    { url = "https://b.example/url" }
connector "keep"   { url = "https://a.example/keep" }
connector "new"    { url = "https://a.example/new" }
`)
	d := Compare(old, new)
	for _, c := range []struct {
		what string
		got  []*pipeline.Connector
		want []string
	}{
		{"added", d.Added, []string{"new"}},
		{"removed", d.Removed, []string{"gone"}},
		{"changed", d.Changed, []string{"filter", "secret", "url"}},
		{"unchanged", d.Unchanged, []string{"keep"}},
	} {
		if got := Names(c.got); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	if d.Empty() {
		t.Error("diff with changes is empty")
	}
	if d := Compare(old, mustLoad(t, compareOld)); !d.Empty() || len(d.Unchanged) != 5 {
		t.Errorf("same configuration: %+v, want empty with 5 unchanged", d)
	}
}
