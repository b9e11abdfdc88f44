package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConnector(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// validate exits 0 and lists the connectors of a good directory; for a bad
// one it prints every error as file:line:col and fails.
func TestValidate(t *testing.T) {
	good := t.TempDir()
	writeConnector(t, good, "a.hcl", "connector \"a\" {\n  url = \"https://a.example/h\"\n}\n")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"validate", "--connectors", good}, &out, &errOut); err != nil {
		t.Fatalf("good dir: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "1 connector(s) OK") || !strings.Contains(out.String(), "https://a.example/h") {
		t.Errorf("good dir output %q", out.String())
	}

	bad := t.TempDir()
	writeConnector(t, bad, "a.hcl", "connector \"a\" {\n  url = \"http://example.com\"\n  timeout = \"soon\"\n}\n")
	writeConnector(t, bad, "b.hcl", "connector \"B\" {\n  url = \"https://b.example\"\n}\n")
	out.Reset()
	errOut.Reset()
	err := run(context.Background(), []string{"validate", "--connectors", bad}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "3 error(s)") {
		t.Fatalf("bad dir: err %v", err)
	}
	for _, want := range []string{"a.hcl:2:9: Invalid url", "a.hcl:3:13: Invalid timeout", "b.hcl:1:11: Invalid connector name"} {
		if !strings.Contains(errOut.String(), filepath.Join(bad, want)) {
			t.Errorf("output lacks %q:\n%s", want, errOut.String())
		}
	}
}

// run refuses a bad connector directory before it contacts Kafka, and bad
// flags or commands are usage errors.
func TestRunRefusesBadInput(t *testing.T) {
	bad := t.TempDir()
	writeConnector(t, bad, "a.hcl", "connector \"a\" {\n  events = [\"tempx\"]\n  url = \"https://a.example\"\n}\n")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"run", "--connectors", bad, "--brokers", "127.0.0.1:1"}, &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), `"tempx" is not an event type`) {
		t.Fatalf("err %v, output %s", err, errOut.String())
	}
	for _, args := range [][]string{{"nope"}, {"run", "--partitions", "x"}, {"validate", "extra"}} {
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	if err := run(context.Background(), []string{"run", "--partitions", "0", "--connectors", bad}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--partitions 0") {
		t.Errorf("--partitions 0: %v", err)
	}
}

// --version, -v and version print the version to stdout.
func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-v"} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{arg}, &out, &errOut); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if out.String() != "hookpipe "+version+"\n" || errOut.Len() != 0 {
			t.Errorf("%s: stdout %q, stderr %q", arg, out.String(), errOut.String())
		}
	}
}

// Help for every command goes to stdout and ends without an error (exit
// 0), however it is asked for; the flags read with natural placeholders.
func TestHelpGoesToStdout(t *testing.T) {
	want := map[string][]string{
		"run":      {"-connectors DIR", "-listen ADDR", "-brokers LIST", "-partitions N", "-log-level LEVEL"},
		"validate": {"-connectors DIR"},
		"receive":  {"-listen ADDR", "-secret S", "$HOOKPIPE_RECEIVE_SECRET", "-failure-rate F", "-latency D"},
		"replay":   {"-connector NAME", "-brokers LIST"},
		"bench":    {"-scenarios LIST", "-json FILE", "-events N"},
	}
	for cmd, flags := range want {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}, {cmd, "-help"}} {
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, &out, &errOut)
			if err != nil && !errors.Is(err, errHelp) {
				t.Errorf("%v: err %v, want exit 0", args, err)
			}
			if errOut.Len() != 0 {
				t.Errorf("%v: stderr %q, want nothing", args, errOut.String())
			}
			for _, f := range append(flags, "usage: hookpipe "+cmd+" [flags]") {
				if !strings.Contains(out.String(), f) {
					t.Errorf("%v: stdout lacks %q:\n%s", args, f, out.String())
				}
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); err != nil || !strings.Contains(out.String(), "usage: hookpipe <command>") || errOut.Len() != 0 {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, out.String(), errOut.String())
		}
	}
}

// A bad flag, or help for an unknown command, is a usage error explained
// on stderr, with nothing on stdout.
func TestUsageErrorsGoToStderr(t *testing.T) {
	for _, args := range [][]string{{"run", "--nope"}, {"help", "nope"}, {"receive", "extra"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if !errors.Is(err, errUsage) || out.Len() != 0 || !strings.Contains(errOut.String(), "usage: hookpipe") {
			t.Errorf("%v: err %v, stdout %q, stderr %q", args, err, out.String(), errOut.String())
		}
	}
}

// With --listen busy, run fails first with the bind error: before the
// embedded broker starts (no data directory appears) or a real broker is
// contacted (no connection warnings).
func TestRunFailsFirstOnBusyListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	good := t.TempDir()
	writeConnector(t, good, "a.hcl", "connector \"a\" {\n  url = \"https://a.example/h\"\n}\n")
	dataDir := filepath.Join(t.TempDir(), "data")
	for _, extra := range [][]string{{"--brokers", "127.0.0.1:1"}, {"--data-dir", dataDir, "--embedded-listen", "127.0.0.1:0"}} {
		args := append([]string{"run", "--connectors", good, "--listen", busy.Addr().String()}, extra...)
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "bind: address already in use") || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Errorf("%v: err %v, want the bind error naming the address", extra, err)
		}
		if errOut.Len() != 0 {
			t.Errorf("%v: logged before failing:\n%s", extra, errOut.String())
		}
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the embedded broker started (%s: %v)", dataDir, err)
	}
}

// replay refuses a bad selection before it loads connectors or contacts
// Kafka, naming the flag at fault.
func TestReplayBadSelection(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--connector", "a", "--since", "yesterday"}, "--since"},
		{[]string{"replay", "--connector", "a", "--until", "5"}, "--until"},
		{[]string{"replay", "--connector", "a", "--event-type", "touch,tuch"}, `"tuch"`},
		{[]string{"replay", "--connector", "a", "--since", "1h", "--until", "2h"}, "not before"},
		{[]string{"replay", "--since", "1h"}, "--connector is required"},
	} {
		err := run(context.Background(), c.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error naming %s", c.args, err, c.want)
		}
	}
}
