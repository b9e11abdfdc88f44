package kafka

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateInstanceID pins the default id: kept across restarts (a new
// call after release), different per directory, and a directory held by a
// running process refused with ErrStateInUse.
func TestStateInstanceID(t *testing.T) {
	dir := t.TempDir()
	id, release, err := StateInstanceID(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !validInstanceID.MatchString(id) {
		t.Errorf("id %q is not a valid instance id", id)
	}
	if _, _, err := StateInstanceID(dir); !errors.Is(err, ErrStateInUse) {
		t.Errorf("second holder of %s: err = %v, want ErrStateInUse", dir, err)
	}
	release()
	again, release2, err := StateInstanceID(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release2()
	if again != id {
		t.Errorf("id after a restart = %q, want %q", again, id)
	}
	other, release3, err := StateInstanceID(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer release3()
	if other == id {
		t.Errorf("two directories got the same id %q", id)
	}
}

// TestStateInstanceIDBadFile pins that a corrupt id file is named.
func TestStateInstanceIDBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, InstanceIDFile), []byte("no spaces allowed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := StateInstanceID(dir)
	if err == nil || !strings.Contains(err.Error(), InstanceIDFile) {
		t.Errorf("err = %v, want one naming %s", err, InstanceIDFile)
	}
}
