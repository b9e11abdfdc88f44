package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// namePattern is the rule for connector names; a name becomes part of
// Kafka topic names and consumer group ids.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// fileSchema is the top level of a connector file: connector blocks only.
var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "connector", LabelNames: []string{"name"}}},
}

// LoadConnectors reads every *.hcl file in dir (sorted by name, not
// recursive; hidden files and directories are skipped) and returns the
// connectors it declares, sorted by name, with defaults applied.
//
// lookupEnv resolves the env("NAME") function (os.LookupEnv in production).
//
// It reports every problem at once: one bad file or connector does not hide
// the problems of the next. Each diagnostic has a Severity and, except for
// a directory or file that cannot be read, a Subject range in the file.
// When diags.HasErrors(), the connectors returned are nil. A directory with
// no *.hcl files gives no connectors and no diagnostics; a missing
// directory is an error.
func LoadConnectors(dir string, lookupEnv func(string) (string, bool)) ([]*pipeline.Connector, hcl.Diagnostics) {
	paths, diags := connectorFiles(dir)
	if diags.HasErrors() {
		return nil, diags
	}
	l := newLoader(lookupEnv)
	for _, p := range paths {
		l.file(p)
	}
	return l.result()
}

func newLoader(lookupEnv func(string) (string, bool)) *configLoader {
	return &configLoader{
		configDecoder: configDecoder{ctx: evalContext(lookupEnv)},
		first:         map[string]hcl.Range{},
	}
}

// result returns what LoadConnectors returns once every file is loaded.
func (l *configLoader) result() ([]*pipeline.Connector, hcl.Diagnostics) {
	sortDiagnostics(l.diags)
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	slices.SortFunc(l.connectors, func(a, b *pipeline.Connector) int { return strings.Compare(a.Name, b.Name) })
	return l.connectors, l.diags
}

// loadBytes loads src as the one connector file path, without reading
// it: LoadConnectors of a directory holding only that file, minus the
// file I/O (the fuzz target runs it thousands of times a second).
func loadBytes(path string, src []byte, lookupEnv func(string) (string, bool)) ([]*pipeline.Connector, hcl.Diagnostics) {
	l := newLoader(lookupEnv)
	l.source(path, src)
	return l.result()
}

// sortDiagnostics puts diags in source order: by file, then by position.
// Decoding finds problems attribute by attribute, not in source order.
func sortDiagnostics(diags hcl.Diagnostics) {
	slices.SortStableFunc(diags, func(x, y *hcl.Diagnostic) int {
		a, b := x.Subject, y.Subject
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil: // a path error: no position, listed first
			return -1
		case b == nil:
			return 1
		case a.Filename != b.Filename:
			return strings.Compare(a.Filename, b.Filename)
		}
		return cmp.Compare(a.Start.Byte, b.Start.Byte)
	})
}

// connectorFiles lists the *.hcl files of dir, sorted by name.
func connectorFiles(dir string) ([]string, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{pathError(dir, "Cannot read connector directory", err)}
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".hcl") {
			continue
		}
		paths = append(paths, filepath.Join(dir, name))
	}
	return paths, nil
}

// configLoader accumulates connectors and diagnostics across files.
type configLoader struct {
	configDecoder
	connectors []*pipeline.Connector
	// first maps each connector name seen so far to its label's range.
	first map[string]hcl.Range
}

// file parses and decodes one connector file. A file that does not parse
// reports only its syntax errors: decoding a partial body would add noise.
func (l *configLoader) file(path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		l.diags = append(l.diags, pathError(path, "Cannot read connector file", err))
		return
	}
	l.source(path, src)
}

// source parses and decodes src, the content of the file path.
func (l *configLoader) source(path string, src []byte) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return
	}
	content, diags := f.Body.Content(fileSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		l.checkName(b.Labels[0], b.LabelRanges[0])
		if c := l.connector(b); c != nil {
			l.connectors = append(l.connectors, c)
		}
	}
}

// checkName reports a malformed name, or a name already used by an
// earlier block (in this file or an earlier one).
func (l *configLoader) checkName(name string, rng hcl.Range) {
	if !namePattern.MatchString(name) {
		l.errorAt(rng, "Invalid connector name", fmt.Sprintf(
			"%q does not match %s: use 1 to 63 lower-case letters, digits and "+
				"dashes, starting with a letter or digit.", name, namePattern))
		return
	}
	if prev, dup := l.first[name]; dup {
		l.errorAt(rng, "Duplicate connector name", fmt.Sprintf(
			"A connector named %q is already declared at %s:%d.", name, prev.Filename, prev.Start.Line))
		return
	}
	l.first[name] = rng
}

// newError is the one constructor of this package's config diagnostics:
// each is an error, at subject when there is one.
func newError(subject *hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject}
}

// errorAt returns an error diagnostic at rng.
func errorAt(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return newError(rng.Ptr(), summary, detail)
}

// pathExtra is the Extra of a diagnostic about a whole file or directory,
// which has no Subject; FormatDiagnostics prints the path instead.
type pathExtra string

// pathError returns an error diagnostic about path, which could not be
// read. The detail is err without the path, which the prefix shows.
func pathError(path, summary string, err error) *hcl.Diagnostic {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	d := newError(nil, summary, err.Error()+".")
	d.Extra = pathExtra(path)
	return d
}

// FormatDiagnostics renders diags one per line, each ending in "\n", as
// "file:line:col: message", where message is the Summary followed by
// ": " and the Detail when the Detail adds something. A diagnostic about a
// whole file or directory is "path: message"; a warning's message starts
// with "warning: ".
func FormatDiagnostics(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		if d == nil {
			continue
		}
		if d.Subject != nil {
			fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		} else if p, ok := d.Extra.(pathExtra); ok {
			fmt.Fprintf(&b, "%s: ", string(p))
		}
		if d.Severity == hcl.DiagWarning {
			b.WriteString("warning: ")
		}
		b.WriteString(diagMessage(d))
		b.WriteByte('\n')
	}
	return b.String()
}

// diagMessage is d's Summary, plus its Detail on the same line when the
// Detail says more than the Summary.
func diagMessage(d *hcl.Diagnostic) string {
	detail := strings.TrimSpace(strings.Join(strings.Split(d.Detail, "\n"), " "))
	if detail == "" || strings.TrimSuffix(detail, ".") == d.Summary {
		return d.Summary
	}
	return d.Summary + ": " + detail
}
