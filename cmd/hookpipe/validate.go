package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hookpipe/hookpipe/pipeline/config"
)

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", stdout, stderr)
	dir := fs.String("connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	if err := parse(fs, args); err != nil {
		return err
	}
	conns, diags := config.LoadConnectors(*dir, os.LookupEnv)
	if len(diags) > 0 {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
	}
	if diags.HasErrors() {
		return fmt.Errorf("%s: %d error(s)", *dir, len(diags.Errs()))
	}
	fmt.Fprintf(stdout, "%s: %d connector(s) OK\n", *dir, len(conns))
	for _, c := range conns {
		state := "enabled"
		if c.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(stdout, "  %-20s %-8s %s\n", c.Name, state, c.URL.Redacted())
	}
	return nil
}
