package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// mapEnv is a lookupEnv backed by m.
func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// fixtureEnv sets the variables the fixtures read.
var fixtureEnv = map[string]string{"COLD_CHAIN_SECRET": "s3cret", "COLD_CHAIN_KEY": "k3y"}

// loadSource writes src as x.hcl in a new directory and loads it. The
// diagnostics come back formatted, one per line, with paths relative to
// the directory.
func loadSource(t testing.TB, src string, env map[string]string) ([]*pipeline.Connector, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cs, diags := LoadConnectors(dir, mapEnv(env))
	checkDiagnostics(t, cs, diags)
	if len(diags) == 0 {
		return cs, nil
	}
	out := strings.ReplaceAll(FormatDiagnostics(diags), dir+string(filepath.Separator), "")
	return cs, diagLines(out)
}

// checkDiagnostics pins LoadConnectors' contract on diagnostics: each has
// a Severity and a Subject, and errors mean no connectors.
func checkDiagnostics(t testing.TB, cs []*pipeline.Connector, diags hcl.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Severity != hcl.DiagError && d.Severity != hcl.DiagWarning || d.Subject == nil {
			t.Errorf("diagnostic without Severity or Subject: %#v", d)
		}
	}
	if diags.HasErrors() && cs != nil {
		t.Errorf("LoadConnectors returned %d connectors with errors", len(cs))
	}
}

// mustURL parses s or fails the test.
func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// urlComparer compares URLs by their string form.
var urlComparer = cmp.Comparer(func(a, b *url.URL) bool {
	return a == nil && b == nil || a != nil && b != nil && a.String() == b.String()
})

// The good fixtures decode to exactly these connectors, sorted by name:
// every attribute set in one file, defaults wherever one is omitted.
func TestLoadConnectorsGoodDir(t *testing.T) {
	dir := filepath.Join("testdata", "connectors", "good")
	got, diags := LoadConnectors(dir, mapEnv(fixtureEnv))
	if len(diags) > 0 {
		t.Fatalf("diagnostics:\n%s", FormatDiagnostics(diags))
	}
	local := filepath.Join(dir, "local.hcl")
	want := []*pipeline.Connector{{
		Name:            "cold-chain",
		URL:             mustURL(t, "https://example.com/hooks/dt?tenant=7"),
		Events:          []string{"temperature", "humidity"},
		Labels:          []string{"name", "room"},
		SignatureSecret: "s3cret",
		SignatureScheme: "dt-jwt", SignatureSecrets: []string{"s3cret"},
		Headers:     map[string]string{"X-Api-Key": "k3y", "Accept": "application/json"},
		Timeout:     30 * time.Second,
		MaxInFlight: 50,
		Disabled:    true,
		Retry:       pipeline.RetryPolicy{Backoff: []time.Duration{time.Second, 30 * time.Second, 2 * time.Minute}, MaxAge: 6 * time.Hour},
		File:        filepath.Join(dir, "cold-chain.hcl"),
	}, {
		Name: "local-dev", URL: mustURL(t, "http://localhost:8080/hook"), File: local,
		Timeout: 10 * time.Second, MaxInFlight: 1000,
		Retry: pipeline.RetryPolicy{Backoff: []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour}, MaxAge: 12 * time.Hour},
	}, {
		Name: "loopback-1", URL: mustURL(t, "http://127.0.0.1:9000/"), File: local,
		Timeout: pipeline.DefaultTimeout, MaxInFlight: pipeline.DefaultMaxInFlight,
		Retry: pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: pipeline.DefaultMaxAge},
	}}
	for _, c := range want { // endpoint health is tested in health_test.go
		c.CircuitBreaker, c.DisableAfter = pipeline.DefaultCircuitBreaker(), pipeline.DefaultDisableAfter
		c.Ordering = pipeline.OrderingNone // tested in ordering_test.go
	}
	if diff := cmp.Diff(want, got, urlComparer); diff != "" {
		t.Errorf("LoadConnectors(%s) mismatch (-want +got):\n%s", dir, diff)
	}
}

// An omitted or null attribute takes its documented default, and a retry
// block keeps the default for whichever attribute it omits.
func TestLoadConnectorsDefaults(t *testing.T) {
	defaults := pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: pipeline.DefaultMaxAge}
	tests := []struct {
		name, body string
		want       pipeline.RetryPolicy
	}{
		{"omitted", ``, defaults},
		{"null", `events = null
  labels = null
  headers = null
  signature_secret = null
  timeout = null
  max_in_flight = null
  disabled = null`, defaults},
		{"empty retry", `retry {}`, defaults},
		{"null retry attributes", `retry {
    backoff = null
    max_age = null
  }`, defaults},
		{"only max_age", `retry { max_age = "30s" }`, pipeline.RetryPolicy{Backoff: pipeline.DefaultBackoff(), MaxAge: 30 * time.Second}},
		{"only backoff", `retry { backoff = ["1s"] }`, pipeline.RetryPolicy{Backoff: []time.Duration{time.Second}, MaxAge: pipeline.DefaultMaxAge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "connector \"c\" {\n  url = \"https://example.com\"\n  " + tt.body + "\n}\n"
			cs, diags := loadSource(t, src, nil)
			if len(diags) > 0 || len(cs) != 1 {
				t.Fatalf("got %d connectors, diagnostics %q", len(cs), diags)
			}
			c := cs[0]
			want := pipeline.Connector{Name: "c", URL: c.URL, File: c.File, Timeout: pipeline.DefaultTimeout, MaxInFlight: pipeline.DefaultMaxInFlight, Retry: tt.want,
				CircuitBreaker: pipeline.DefaultCircuitBreaker(), DisableAfter: pipeline.DefaultDisableAfter, Ordering: pipeline.OrderingNone}
			if diff := cmp.Diff(&want, c); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Each rule's violation is reported at the offending attribute, element
// or label, as "file:line:col: message", and nothing else is reported.
func TestLoadConnectorsDiagnostics(t *testing.T) {
	for _, tt := range diagnosticCases() {
		t.Run(tt.name, func(t *testing.T) {
			_, got := loadSource(t, tt.src, nil)
			checkLines(t, got, tt.want)
		})
	}
}

// diagLines splits s, a FormatDiagnostics result, into its lines.
func diagLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// checkLines fails unless got has one line per want, each starting with it.
func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Errorf("diagnostics:\n%s\nwant lines starting with:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Problems in several connectors and several files are all reported in
// one pass, in file and source order, and a name repeated across files is
// reported at the second declaration, naming the first.
func TestLoadConnectorsAcrossFiles(t *testing.T) {
	dir := filepath.Join("testdata", "connectors", "bad")
	cs, diags := LoadConnectors(dir, mapEnv(nil))
	checkDiagnostics(t, cs, diags)
	a, b := filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl")
	checkLines(t, diagLines(FormatDiagnostics(diags)), []string{
		a + `:4:13: Invalid timeout: "forever" is not a duration`,
		a + `:7:11: Invalid connector name: "Shipping"`,
		b + `:1:11: Duplicate connector name: A connector named "billing" is already declared at ` + a + `:2.`,
		b + `:2:12: Invalid url: http is allowed only to a loopback host`,
		b + `:3:13: Invalid event type: "temprature" is not an event type; did you mean "temperature"?`,
		b + `:9:15: Invalid retry max_age: "24h" is longer than the maximum, 12h.`,
	})
}

// env() returns a set variable's value, even an empty one, and reports an
// unset variable at the call, naming it.
func TestLoadConnectorsEnv(t *testing.T) {
	src := connectorSrc(`  signature_secret = env("SECRET")
  headers = { "X-Key" = env("KEY") }`)
	tests := []struct {
		name       string
		env        map[string]string
		wantSecret string
		want       []string
	}{
		{"set", map[string]string{"SECRET": "s", "KEY": "k"}, "s", nil},
		{"empty", map[string]string{"SECRET": "", "KEY": ""}, "", nil},
		{"one unset", map[string]string{"SECRET": "s"}, "", []string{
			`x.hcl:4:25: Environment variable not set: env("KEY") reads KEY, which is not set;`,
		}},
		{"both unset", nil, "", []string{
			`x.hcl:3:22: Environment variable not set: env("SECRET") reads SECRET`,
			`x.hcl:4:25: Environment variable not set: env("KEY") reads KEY`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, got := loadSource(t, src, tt.env)
			checkLines(t, got, tt.want)
			if tt.want != nil {
				return
			}
			if len(cs) != 1 || cs[0].SignatureSecret != tt.wantSecret || cs[0].Headers["X-Key"] != tt.env["KEY"] {
				t.Errorf("got %+v, want secret %q and X-Key %q", cs, tt.wantSecret, tt.env["KEY"])
			}
		})
	}
}

// env(name, default) gives the default only when the variable is unset;
// a set variable, even empty, wins; a third argument is an error.
func TestLoadConnectorsEnvDefault(t *testing.T) {
	src := connectorSrc(`  signature_secret = env("SECRET", "dev-secret")`)
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{{nil, "dev-secret"}, {map[string]string{"SECRET": "s"}, "s"}, {map[string]string{"SECRET": ""}, ""}} {
		cs, diags := loadSource(t, src, tt.env)
		if len(diags) != 0 || len(cs) != 1 || cs[0].SignatureSecret != tt.want {
			t.Errorf("env %v: %v, want secret %q", tt.env, diags, tt.want)
		}
	}
	_, diags := loadSource(t, connectorSrc(`  signature_secret = env("SECRET", "a", "b")`), nil)
	checkLines(t, diags, []string{`x.hcl:3:22: Error in function call: Call to function "env" failed: env takes a variable name and at most one default, as env("SECRET", "default"); got 3 arguments.`})
}

// A url is https, or http only to a loopback host (localhost, 127/8, ::1).
func TestLoadConnectorsURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // start of the message after "Invalid url: "; "" = accepted
	}{
		{"https://example.com/hook", ""},
		{"HTTPS://Example.COM:8443/a?b=c", ""},
		{"https://user:pass@example.com/", ""},
		{"http://localhost:8080/hook", ""},
		{"http://LOCALHOST/", ""},
		{"http://127.0.0.1/", ""},
		{"http://127.255.0.9:9000/x", ""},
		{"http://[::1]:8080/", ""},
		{"http://example.com/", "http is allowed only to a loopback host"},
		{"http://10.0.0.1/", "http is allowed only to a loopback host"},
		{"http://localhost.example.com/", "http is allowed only to a loopback host"},
		{"http://127.0.0.1.nip.io/", "http is allowed only to a loopback host"},
		{"http://[::2]/", "http is allowed only to a loopback host"},
		{"ws://localhost/", `The scheme must be https (or http to a loopback host), not "ws".`},
		{"https:example.com", "The url has no host."},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			cs, got := loadSource(t, "connector \"c\" {\n  url = \""+tt.url+"\"\n}\n", nil)
			if tt.want == "" {
				checkLines(t, got, nil)
				if len(cs) == 1 && cs[0].URL.String() != mustURL(t, tt.url).String() {
					t.Errorf("URL = %s, want %s", cs[0].URL, tt.url)
				}
				return
			}
			checkLines(t, got, []string{"x.hcl:2:9: Invalid url: " + tt.want})
		})
	}
}

// Only the directory's own visible *.hcl files are read, in name order; no
// files is no connectors and no error; a missing directory is an error
// without a source range, printed after the directory's path.
func TestLoadConnectorsDirectory(t *testing.T) {
	write := func(t *testing.T, dir, name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("empty", func(t *testing.T) {
		cs, diags := LoadConnectors(t.TempDir(), mapEnv(nil))
		if len(cs) != 0 || len(diags) != 0 {
			t.Errorf("got %v, %v; want nothing", cs, diags)
		}
	})
	t.Run("skips", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "b.hcl", `connector "b" { url = "https://b.example" }`)
		write(t, dir, "a.hcl", `connector "a" { url = "https://a.example" }`)
		for _, name := range []string{"c.hcl.bak", "README.md", ".#d.hcl", "sub/e.hcl", "f.hcl/g.hcl"} {
			write(t, dir, name, "not HCL {")
		}
		cs, diags := LoadConnectors(dir, mapEnv(nil))
		var got []string
		for _, c := range cs {
			got = append(got, c.Name+" "+c.File)
		}
		want := []string{"a " + filepath.Join(dir, "a.hcl"), "b " + filepath.Join(dir, "b.hcl")}
		if diff := cmp.Diff(want, got); diff != "" || len(diags) > 0 {
			t.Errorf("connectors (-want +got):\n%s\ndiagnostics: %s", diff, FormatDiagnostics(diags))
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, "a.hcl", `connector "a" { url = "https://a.example" }`)
		if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "b.hcl")); err != nil {
			t.Skip(err)
		}
		cs, diags := LoadConnectors(dir, mapEnv(nil))
		want := filepath.Join(dir, "b.hcl") + ": Cannot read connector file: no such file or directory.\n"
		if got := FormatDiagnostics(diags); cs != nil || got != want {
			t.Errorf("got %v, %q; want nil, %q", cs, got, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "connectors.d")
		cs, diags := LoadConnectors(dir, mapEnv(nil))
		want := dir + ": Cannot read connector directory: no such file or directory.\n"
		if got := FormatDiagnostics(diags); cs != nil || got != want || diags[0].Subject != nil {
			t.Errorf("got %v, %q; want nil, %q", cs, got, want)
		}
	})
}

// FormatDiagnostics writes one line per diagnostic, each ending in a
// newline: position, then the Summary, then the Detail only when it adds
// something.
func TestConfigFormatDiagnostics(t *testing.T) {
	rng := &hcl.Range{Filename: "d/x.hcl", Start: hcl.Pos{Line: 3, Column: 7, Byte: 30}}
	tests := []struct {
		name string
		diag *hcl.Diagnostic
		want string
	}{
		{"summary and detail", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "Why.", Subject: rng}, "d/x.hcl:3:7: Bad: Why."},
		{"no detail", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Subject: rng}, "d/x.hcl:3:7: Bad"},
		{"detail repeats summary", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "Bad.", Subject: rng}, "d/x.hcl:3:7: Bad"},
		{"multi-line detail", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad", Detail: "One.\nTwo.\n", Subject: rng}, "d/x.hcl:3:7: Bad: One. Two."},
		{"warning", &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Odd", Subject: rng}, "d/x.hcl:3:7: warning: Odd"},
		{"no subject", &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Bad"}, "Bad"},
		{"path", pathError("d", "Cannot read", os.ErrNotExist), "d: Cannot read: file does not exist."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatDiagnostics(hcl.Diagnostics{tt.diag}); got != tt.want+"\n" {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := FormatDiagnostics(hcl.Diagnostics{tests[0].diag, tests[1].diag}); got != tests[0].want+"\n"+tests[1].want+"\n" {
		t.Errorf("two diagnostics: got %q", got)
	}
	if got := FormatDiagnostics(nil); got != "" {
		t.Errorf("no diagnostics: got %q, want \"\"", got)
	}
}

// loadBytes, the fuzz target's loader, gives what LoadConnectors gives
// for a directory holding only that file.
func TestLoadBytesMatchesLoadConnectors(t *testing.T) {
	cases := append(diagnosticCases(), diagnosticCase{name: "good", src: connectorSrc("")})
	for _, tt := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.hcl")
		if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
			t.Fatal(err)
		}
		env := mapEnv(fixtureEnv)
		wantCs, wantDiags := LoadConnectors(dir, env)
		cs, diags := loadBytes(path, []byte(tt.src), env)
		if !cmp.Equal(cs, wantCs) || FormatDiagnostics(diags) != FormatDiagnostics(wantDiags) {
			t.Errorf("%s: loadBytes gave %d connectors and %q, LoadConnectors %d and %q",
				tt.name, len(cs), FormatDiagnostics(diags), len(wantCs), FormatDiagnostics(wantDiags))
		}
	}
}

// The loader (LoadConnectors minus its file reads) never panics, and when
// it reports no error every connector it returns is usable: a valid name, a URL, a positive
// in-flight limit and timeout, and a non-empty ladder of positive delays.
func FuzzLoadConnectors(f *testing.F) {
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "connectors", dir, "*.hcl"))
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(src))
		}
	}
	for _, tt := range diagnosticCases() {
		f.Add(tt.src)
	}
	env := mapEnv(fixtureEnv)
	f.Fuzz(func(t *testing.T, src string) {
		// In memory: a temporary directory per input cost 4x the parse and
		// made minimizing each new input outlast a 10 s fuzz run.
		cs, diags := loadBytes("x.hcl", []byte(src), env)
		checkDiagnostics(t, cs, diags)
		for _, c := range cs {
			checkConnector(t, c)
		}
	})
}

// checkConnector fails t unless c satisfies the invariants of Connector.
func checkConnector(t *testing.T, c *pipeline.Connector) {
	t.Helper()
	ok := namePattern.MatchString(c.Name) && c.URL != nil && c.URL.Host != "" &&
		c.MaxInFlight >= 1 && c.Timeout > 0 && len(c.Retry.Backoff) > 0 && c.Retry.MaxAge > 0
	for _, b := range c.Retry.Backoff {
		ok = ok && b > 0
	}
	if !ok {
		t.Errorf("connector breaks an invariant: %+v", c)
	}
}
