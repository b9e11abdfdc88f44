package main

import (
	"bytes"
	"context"
	"errors"
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
