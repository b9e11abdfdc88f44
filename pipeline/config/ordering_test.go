package config

import (
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// ordering defaults to "none", takes "none" and "device", and any other
// value is an error at the value naming the connector and both values.
func TestLoadConnectorsOrdering(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       string
		diag       string
	}{
		{"omitted", ``, pipeline.OrderingNone, ""},
		{"none", `  ordering = "none"`, pipeline.OrderingNone, ""},
		{"device", `  ordering = "device"`, pipeline.OrderingDevice, ""},
		{"unknown", `  ordering = "host"`, "", `x.hcl:3:14: Invalid ordering: Connector "c": ordering must be "none" (the default: any order, as DT) or "device" (each device's events in ingest order), not "host".`},
		{"case matters", `  ordering = "Device"`, "", `x.hcl:3:14: Invalid ordering: Connector "c": ordering must be "none"`},
		{"empty", `  ordering = ""`, "", `x.hcl:3:14: Invalid ordering: Connector "c": ordering must be "none"`},
		{"not a string", `  ordering = ["device"]`, "", `x.hcl:3:14: Invalid ordering: Unsuitable value: string required`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, diags := loadSource(t, connectorSrc(tt.body), nil)
			if tt.diag != "" {
				checkLines(t, diags, []string{tt.diag})
				return
			}
			if len(diags) > 0 || len(cs) != 1 {
				t.Fatalf("got %d connectors, diagnostics %q", len(cs), diags)
			}
			if cs[0].Ordering != tt.want || cs[0].OrderedByDevice() != (tt.want == pipeline.OrderingDevice) {
				t.Errorf("Ordering = %q, want %q", cs[0].Ordering, tt.want)
			}
		})
	}
}

// ordering = "device" changes the connector's hash; "none" does not, as
// it is the default.
func TestHashOrdering(t *testing.T) {
	hash := func(body string) string {
		t.Helper()
		cs, diags := loadSource(t, connectorSrc(body), nil)
		if len(diags) > 0 {
			t.Fatal(diags)
		}
		return ConnectorHash(cs[0])
	}
	base := hash(``)
	if h := hash(`  ordering = "none"`); h != base {
		t.Errorf("ordering = \"none\" hashes %s, the default %s", h, base)
	}
	if h := hash(`  ordering = "device"`); h == base {
		t.Error("ordering = \"device\" hashes like the default")
	}
}
