package stages

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DirHash returns "sha256:<hex>" of a connectors directory as the loader
// reads it: the names and contents of its *.hcl files (not hidden ones,
// not subdirectories), in name order. A directory that cannot be read
// hashes as "unreadable:" and the error. Files the connectors name (a
// tls ca_file) and environment variables do not count: WatchHash adds the
// files.
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
		writeFile(h, n, filepath.Join(dir, n))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// WatchHash returns "sha256:<hex>" of what `--watch` watches: dir's
// DirHash and the contents of the files conns' tls blocks name
// (pipeline.Connector.TLSFiles), so that a certificate replaced on its
// own is seen too. Each file is read once, however many connectors name
// it; a file that cannot be read hashes as its error.
func WatchHash(dir string, conns []*pipeline.Connector) string {
	var files []string
	for _, c := range conns {
		files = append(files, c.TLSFiles...)
	}
	slices.Sort(files)
	h := sha256.New()
	h.Write([]byte(DirHash(dir)))
	for _, f := range slices.Compact(files) { // a CA file many connectors share is read once
		writeFile(h, f, f)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// writeFile writes name and path's contents (or its read error) to h,
// each length-prefixed.
func writeFile(h hash.Hash, name, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		b = []byte("unreadable: " + err.Error())
	}
	for _, part := range [][]byte{[]byte(name), b} {
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(len(part)))
		h.Write(l[:])
		h.Write(part)
	}
}

// watch polls WatchHash (the connectors directory and the tls files of
// the connectors in force) every Options.Watch until ctx ends, and
// reloads when it differs from the last reading and held still for one
// interval: an editor's save in several writes is read once it is
// complete. A reading that is rejected is not tried again until the
// directory changes once more (or SIGHUP asks). A reload that brings in
// a connector with tls files changes the hash itself: the next reload it
// causes finds nothing to change.
func (p *Process) watch(ctx context.Context) {
	t := time.NewTicker(p.opts.Watch)
	defer t.Stop()
	read := p.watchHash() // the reading the process started with
	prev := read
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := p.watchHash()
		if cur != read && cur == prev {
			p.log.Info("connectors directory changed; reloading", "dir", p.opts.ConnectorsDir, "watchHash", cur)
			read = cur
			_ = p.Reload(ctx) // logs its outcome
		}
		prev = cur
	}
}

func (p *Process) watchHash() string {
	return WatchHash(p.opts.ConnectorsDir, p.live.Connectors())
}
