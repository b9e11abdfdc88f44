package config

import (
	"strings"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// The hash changes with every setting, secrets included, but not with the
// file a connector came from or the order connectors are listed in; and it
// never contains a secret.
func TestHash(t *testing.T) {
	load := func(body string) string {
		t.Helper()
		cs, diags := loadSource(t, connectorSrc(body), map[string]string{})
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		return ConnectorHash(cs[0])
	}
	base := load(`  signature_secret = "one"`)
	if again := load(`  signature_secret = "one"`); again != base {
		t.Errorf("same settings, different hashes %s %s", base, again)
	}
	for _, body := range []string{
		`  signature_secret = "two"`,
		`  signature { secrets = ["one", "two"] }`,
		"  signature_secret = \"one\"\n  timeout = \"11s\"",
		"  signature_secret = \"one\"\n  events = [\"touch\"]",
		"  signature_secret = \"one\"\n  headers = { A = \"1\" }",
		"  signature_secret = \"one\"\n  retry { max_age = \"1h\" }",
	} {
		if h := load(body); h == base {
			t.Errorf("%q hashes like the base", body)
		}
	}
	if !strings.HasPrefix(base, "sha256:") || strings.Contains(base, "one") {
		t.Errorf("hash %q", base)
	}
	a, _ := loadSource(t, "connector \"a\" { url = \"https://a.example\" }\nconnector \"b\" { url = \"https://b.example\" }\n", nil)
	if Hash(a) != Hash([]*pipeline.Connector{a[1], a[0]}) {
		t.Error("order of connectors changes the hash")
	}
}
