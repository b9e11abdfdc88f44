package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// InstanceIDFile is the file under the state directory that keeps the
// default instance id, and InstanceLockFile the one a running process
// holds locked.
const (
	InstanceIDFile   = "hookpipe-instance-id"
	InstanceLockFile = "hookpipe-instance.lock"
)

// ErrStateInUse is returned by StateInstanceID when another running
// process holds the state directory.
var ErrStateInUse = errors.New("another hookpipe process uses this state directory; give each process its own --data-dir or --instance-id")

// validInstanceID is what Kafka accepts as a group.instance.id, kept short.
var validInstanceID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

// StateInstanceID returns the default static-membership id of a process
// whose state directory is dir: the id kept in dir/hookpipe-instance-id,
// created on first use as "<hostname>-<8 random hex digits>", so that it
// is stable across restarts and unique per directory. It also locks
// dir/hookpipe-instance.lock for as long as the process lives (release
// unlocks it; the kernel does when the process dies), so that a second
// process given the same directory fails here with a clear error instead
// of fencing the first one out of its groups.
func StateInstanceID(dir string) (id string, release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	release, err = lockFile(filepath.Join(dir, InstanceLockFile))
	if err != nil {
		return "", nil, err
	}
	id, err = readOrCreateID(filepath.Join(dir, InstanceIDFile))
	if err != nil {
		release()
		return "", nil, err
	}
	return id, release, nil
}

func readOrCreateID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validInstanceID.MatchString(id) {
			return "", fmt.Errorf("%s holds %q, not an instance id (letters, digits, '.', '_', '-'; delete the file to get a new one)", path, id)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read instance id: %w", err)
	}
	host, _ := os.Hostname()
	host = strings.Trim(regexp.MustCompile(`[^A-Za-z0-9._-]+`).ReplaceAllString(host, "-"), "-")
	if len(host) > 100 {
		host = host[:100]
	}
	var b8 [4]byte
	_, _ = rand.Read(b8[:])
	id := hex.EncodeToString(b8[:])
	if host != "" {
		id = host + "-" + id
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write instance id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write instance id: %w", err)
	}
	return id, nil
}
