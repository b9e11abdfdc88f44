package stages

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DirHash changes with a connector file's name or contents, and only
// with the files the loader reads.
func TestDirHash(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.hcl", `connector "a" {}`)
	h0 := DirHash(dir)
	for _, name := range []string{".a.hcl.swp", "a.hcl~", "notes.txt"} {
		write(name, "x")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o700); err != nil {
		t.Fatal(err)
	}
	if h := DirHash(dir); h != h0 {
		t.Errorf("files the loader skips changed the hash")
	}
	write("a.hcl", `connector "a" { }`)
	h1 := DirHash(dir)
	if h1 == h0 {
		t.Error("a changed file kept the hash")
	}
	if err := os.Rename(filepath.Join(dir, "a.hcl"), filepath.Join(dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	if DirHash(dir) == h1 {
		t.Error("a renamed file kept the hash")
	}
	if h := DirHash(filepath.Join(dir, "missing")); !strings.HasPrefix(h, "unreadable: ") {
		t.Errorf("missing directory: %q", h)
	}
}

// WatchHash changes when a file a connector's tls block names is
// rewritten, though the directory is not, and not for other files.
func TestWatchHashSeesTLSFiles(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	ca := filepath.Join(certs, "ca.pem")
	for path, body := range map[string]string{filepath.Join(dir, "a.hcl"): `connector "a" {}`, ca: "one", filepath.Join(certs, "other.pem"): "x"} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conns := []*pipeline.Connector{{Name: "a", TLSFiles: []string{ca}}}
	h0 := WatchHash(dir, conns)
	if err := os.WriteFile(filepath.Join(certs, "other.pem"), []byte("y"), 0o600); err != nil {
		t.Fatal(err)
	}
	if WatchHash(dir, conns) != h0 {
		t.Error("a file no connector names changed the hash")
	}
	if err := os.WriteFile(ca, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if WatchHash(dir, conns) == h0 {
		t.Error("a rewritten ca_file kept the hash")
	}
}

// GET /v1/config shows a rejected reading beside the configuration in
// force, which it does not change; a later good reading clears it.
func TestLiveRejected(t *testing.T) {
	loaded := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	l := NewLive(nil, loaded)
	before := l.View()
	l.reject(loaded.Add(time.Minute), "sha256:dir", errors.New("x.hcl:1:1: bad\nx.hcl:2:1: worse\n"))
	v := l.View()
	if v.Hash != before.Hash || !v.LoadedAt.Equal(loaded) {
		t.Errorf("a rejection changed the config in force: %+v", v)
	}
	b, _ := json.Marshal(v)
	want := `"rejected":{"at":"2026-11-30T04:01:00Z","dirHash":"sha256:dir","diagnostics":["x.hcl:1:1: bad","x.hcl:2:1: worse"]}`
	if !strings.Contains(string(b), want) {
		t.Errorf("GET /v1/config: %s\nwant it to contain %s", b, want)
	}
	l.accepted()
	if b, _ := json.Marshal(l.View()); strings.Contains(string(b), "rejected") {
		t.Errorf("a good reading left the rejection: %s", b)
	}
}
