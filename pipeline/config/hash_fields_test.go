package config

import (
	"reflect"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline"
)

// notHashed are the pipeline.Connector fields ConnectorHash leaves out on
// purpose.
var notHashed = map[string]string{
	"File":            "where a connector is declared is not a setting",
	"TLSFiles":        "the paths are not settings; their contents enter through TLSCADigest and TLS",
	"SignatureSecret": "the first of SignatureSecrets, which the hash covers",
}

// changeTo sets the fields that take only some values to another valid one.
var changeTo = map[string]func(*pipeline.Connector){
	"URL":      func(c *pipeline.Connector) { c.URL = c.URL.JoinPath("other") },
	"Ordering": func(c *pipeline.Connector) { c.Ordering = pipeline.OrderingDevice },
}

// Every field of pipeline.Connector (each field of a nested struct on its
// own) changes ConnectorHash when it changes, so that a field added later
// without being hashed fails here instead of a reload silently ignoring
// it.
func TestHashCoversEveryField(t *testing.T) {
	base := func() *pipeline.Connector {
		return mustLoad(t, connectorSrc("  signature_secret = \"one\"\n  headers = { A = \"1\" }"))[0]
	}
	want := ConnectorHash(base())
	typ := reflect.TypeOf(pipeline.Connector{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		if notHashed[f.Name] != "" {
			continue
		}
		paths := [][]int{{i}}
		if f.Type.Kind() == reflect.Struct {
			paths = nil
			for j := range f.Type.NumField() {
				paths = append(paths, []int{i, j})
			}
		}
		for _, p := range paths {
			c := base()
			v := reflect.ValueOf(c).Elem().FieldByIndex(p)
			name := typ.FieldByIndex(p[:1]).Name
			if len(p) > 1 {
				name += "." + f.Type.Field(p[1]).Name
			}
			if set := changeTo[name]; set != nil {
				set(c)
			} else if !mutate(v) {
				t.Errorf("%s: the test cannot change a %s; teach mutate", name, v.Type())
				continue
			}
			if ConnectorHash(c) == want {
				t.Errorf("changing %s leaves ConnectorHash as it was", name)
			}
		}
	}
}

// mutate sets v to a different value; false when it does not know how.
func mutate(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 0.25)
	case reflect.Slice:
		elem := reflect.New(v.Type().Elem()).Elem()
		mutate(elem)
		v.Set(reflect.Append(v, elem))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		m.SetMapIndex(reflect.ValueOf("X-New"), reflect.ValueOf("v"))
		v.Set(m)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			return true
		}
		return false
	default:
		return false
	}
	return true
}
