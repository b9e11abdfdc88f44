package bench

import (
	"strings"
	"testing"
)

// deviceOrder counts an event that arrives after a later event of its own
// device, and nothing for other devices' interleaving.
func TestDeviceOrder(t *testing.T) {
	var o deviceOrder
	for _, seq := range []int{0, 1, devices, 2 * devices, 1 + devices, 5, devices + 5} {
		o.see(seq)
	}
	if got := o.disorder.Load(); got != 0 {
		t.Fatalf("in-order arrivals counted %d out of order", got)
	}
	o.see(2)    // device 2's first: fine
	o.see(1000) // device 0's second after its third
	if got := o.disorder.Load(); got != 1 {
		t.Errorf("counted %d out of order, want 1", got)
	}
}

// An ordered connector spec renders ordering = "device"; others none.
func TestConnectorsHCLOrdering(t *testing.T) {
	hcl := connectorsHCL([]connSpec{{name: "a", ordered: true}, {name: "b"}}, []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}, "", false)
	a, _, found := strings.Cut(hcl, "connector \"b\"")
	if !found || !strings.Contains(a, `ordering = "device"`) {
		t.Errorf("connector a lacks ordering:\n%s", hcl)
	}
	if strings.Count(hcl, "ordering") != 1 {
		t.Errorf("ordering set on the unordered connector:\n%s", hcl)
	}
}
