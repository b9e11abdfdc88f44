package config

import (
	"errors"
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Conversion of attribute values to strings, lists and maps, each item
// with the source range to report a problem at.

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
