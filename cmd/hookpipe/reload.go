package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/stages"
)

// loader reads dir's connectors for a reload; its error is the
// diagnostics, one per line.
func loader(dir string) func() ([]*pipeline.Connector, error) {
	return func() ([]*pipeline.Connector, error) {
		conns, diags := config.LoadConnectors(dir, os.LookupEnv)
		if diags.HasErrors() {
			return nil, errors.New(strings.TrimSpace(config.FormatDiagnostics(diags)))
		}
		return conns, nil
	}
}

// notifyHangup starts catching SIGHUP (whose default is to end the
// process), before the process is built: a SIGHUP that arrives meanwhile
// is kept for serveHangups.
func notifyHangup() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// serveHangups reloads p's connectors on every SIGHUP until ctx ends or
// the returned stop is called, which also stops catching SIGHUP. Reload
// logs its outcome.
func serveHangups(ctx context.Context, hup chan os.Signal, p *stages.Process) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-hup:
				_ = p.Reload(ctx)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
