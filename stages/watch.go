package stages

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DirHash returns "sha256:<hex>" of a connectors directory as the loader
// reads it: the names and contents of its *.hcl files (not hidden ones,
// not subdirectories), in name order. A directory that cannot be read
// hashes as "unreadable:" and the error. Files the connectors name (a
// tls ca_file) and environment variables do not count.
func DirHash(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	h := sha256.New()
	var names []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".hcl") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			b = []byte("unreadable: " + err.Error())
		}
		for _, part := range [][]byte{[]byte(n), b} {
			var l [8]byte
			binary.BigEndian.PutUint64(l[:], uint64(len(part)))
			h.Write(l[:])
			h.Write(part)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// watch polls the connectors directory's hash every Options.Watch until
// ctx ends, and reloads when it differs from the last reading and held
// still for one interval: an editor's save in several writes is read
// once it is complete. A reading that is rejected is not tried again
// until the directory changes once more (or SIGHUP asks).
func (p *Process) watch(ctx context.Context) {
	t := time.NewTicker(p.opts.Watch)
	defer t.Stop()
	read := DirHash(p.opts.ConnectorsDir) // the reading the process started with
	prev := read
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := DirHash(p.opts.ConnectorsDir)
		if cur != read && cur == prev {
			p.log.Info("connectors directory changed; reloading", "dir", p.opts.ConnectorsDir, "dirHash", cur)
			read = cur
			_ = p.Reload(ctx) // logs its outcome
		}
		prev = cur
	}
}
