package stages

import (
	"strings"
	"sync"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Live holds the configuration in force, which a reload replaces, and
// the last rejected attempt. The API reads the connectors through it, so
// a removed connector's name answers 404 from the moment a reload
// applied. Its methods are safe for concurrent use.
type Live struct {
	mu       sync.RWMutex
	conns    []*pipeline.Connector
	loadedAt time.Time
	rejected *RejectedView
}

// RejectedView is a connectors directory a reload rejected: when, the
// hash of its files (DirHash) and its diagnostics, one per line.
type RejectedView struct {
	At          time.Time `json:"at"`
	DirHash     string    `json:"dirHash"`
	Diagnostics []string  `json:"diagnostics"`
}

// NewLive returns the Live of conns loaded at loadedAt.
func NewLive(conns []*pipeline.Connector, loadedAt time.Time) *Live {
	return &Live{conns: conns, loadedAt: loadedAt}
}

// Connectors returns the connectors in force; the caller must not change
// the slice.
func (l *Live) Connectors() []*pipeline.Connector {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.conns
}

// Connector returns the connector in force named name, or nil.
func (l *Live) Connector(name string) *pipeline.Connector {
	for _, c := range l.Connectors() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// set puts conns in force at now and clears the rejected attempt.
func (l *Live) set(conns []*pipeline.Connector, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conns, l.loadedAt, l.rejected = conns, now.UTC(), nil
}

// accepted clears the rejected attempt: the directory was read again
// without error (and changed nothing).
func (l *Live) accepted() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rejected = nil
}

// reject records a rejected attempt at now of the directory with hash
// dirHash.
func (l *Live) reject(now time.Time, dirHash string, err error) {
	var lines []string
	for _, s := range strings.Split(strings.TrimSpace(err.Error()), "\n") {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rejected = &RejectedView{At: now.UTC(), DirHash: dirHash, Diagnostics: lines}
}

// View returns GET /v1/config: the configuration in force and, while the
// directory's last reading was rejected, that attempt.
func (l *Live) View() ConfigView {
	l.mu.RLock()
	conns, at, rej := l.conns, l.loadedAt, l.rejected
	l.mu.RUnlock()
	v := NewConfigView(conns, at)
	v.Rejected = rej
	return v
}
