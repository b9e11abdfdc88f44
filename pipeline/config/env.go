package config

import (
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// The env("NAME") function of connector files, and how an unset
// variable is explained.

// evalContext is the context every expression is evaluated in: no
// variables, and the one function env().
func evalContext(lookupEnv func(string) (string, bool)) *hcl.EvalContext {
	return &hcl.EvalContext{Functions: map[string]function.Function{"env": envFunc(lookupEnv)}}
}

// unsetEnvError is env()'s error for a variable that is not set.
type unsetEnvError struct{ name string }

func (e *unsetEnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set", e.name)
}

// envFunc returns env(name) and env(name, default): the value of the
// environment variable name, as lookupEnv reports it. A set but empty
// variable gives ""; an unset one gives default, or without one is an
// *unsetEnvError.
func envFunc(lookupEnv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the default when it is not set.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			switch {
			case name == "":
				return cty.UnknownVal(cty.String), errors.New("the variable name must not be empty")
			case len(args) > 2:
				return cty.UnknownVal(cty.String), fmt.Errorf("env takes a variable name and at most one default, as env(%q, \"default\"); got %d arguments", name, len(args))
			}
			v, ok := lookupEnv(name)
			switch {
			case ok:
				return cty.StringVal(v), nil
			case len(args) == 2:
				return args[1], nil
			}
			return cty.UnknownVal(cty.String), &unsetEnvError{name: name}
		},
	})
}

// explainEnv rewrites HCL's generic "Error in function call" diagnostic
// for an unset variable into one that names the variable. The Subject,
// set by HCL, stays at the call.
func explainEnv(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
		var unset *unsetEnvError
		if !ok || !errors.As(extra.FunctionCallError(), &unset) {
			continue
		}
		d.Summary = "Environment variable not set"
		d.Detail = fmt.Sprintf("env(%q) reads %s, which is not set; set it, or give a default as env(%q, \"value\").", unset.name, unset.name, unset.name)
	}
	return diags
}
