package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/hookpipe/hookpipe/pipeline"
)

// ordering converts the ordering attribute of connector name: "none" (the
// default) or "device".
func (d *configDecoder) ordering(attr *hcl.Attribute, name string) string {
	it, ok := d.str(attr)
	if !ok {
		return pipeline.OrderingNone
	}
	switch it.val {
	case pipeline.OrderingNone, pipeline.OrderingDevice:
		return it.val
	}
	d.errorAt(it.rng, "Invalid ordering", fmt.Sprintf(
		"Connector %q: ordering must be %q (the default: any order, as DT) or %q (each device's events in ingest order), not %q.",
		name, pipeline.OrderingNone, pipeline.OrderingDevice, it.val))
	return pipeline.OrderingNone
}
