package stages

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Stage is a long-lived part of the pipeline. Run returns when ctx ends,
// having handed back what it held (in-flight work settled, offsets
// committed), or earlier with an error.
type Stage interface {
	Name() string
	Run(ctx context.Context) error
}

// Readier is a Stage that can say whether it is ready to work, such as a
// consumer that has joined its group.
type Readier interface {
	Ready() bool
}

// Runner runs stages together: when one fails, the others are stopped.
type Runner struct {
	stages  []Stage
	running atomic.Int32
	log     *slog.Logger
}

// NewRunner returns a Runner for stages.
func NewRunner(log *slog.Logger, stages ...Stage) *Runner {
	return &Runner{stages: stages, log: log}
}

// Running reports whether every stage is running.
func (r *Runner) Running() bool { return int(r.running.Load()) == len(r.stages) }

// NotReady lists the stages that are not running or not ready yet.
func (r *Runner) NotReady() []string {
	var out []string
	if !r.Running() {
		out = append(out, "stages starting")
	}
	for _, s := range r.stages {
		if rd, ok := s.(Readier); ok && !rd.Ready() {
			out = append(out, s.Name())
		}
	}
	return out
}

// Run runs every stage until ctx ends or one fails; it returns when all
// have returned, with the first error. With no stages it waits for ctx.
func (r *Runner) Run(ctx context.Context) error {
	if len(r.stages) == 0 {
		<-ctx.Done()
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range r.stages {
		g.Go(func() error {
			r.running.Add(1)
			defer r.running.Add(-1)
			if err := s.Run(ctx); err != nil {
				return fmt.Errorf("%s: %w", s.Name(), err)
			}
			r.log.Debug("stage stopped", "stage", s.Name())
			return nil
		})
	}
	return g.Wait()
}
