package stages

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// stub is a Stage that runs until ctx ends, or fails at once with err.
type stub struct {
	name    string
	err     error
	ready   atomic.Bool
	stopped atomic.Bool
}

func (s *stub) Name() string { return s.name }
func (s *stub) Ready() bool  { return s.ready.Load() }
func (s *stub) Run(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	<-ctx.Done()
	s.stopped.Store(true)
	return nil
}

// When one stage fails, the runner stops the others and returns the
// failure under the stage's name.
func TestRunnerStopsAllWhenOneFails(t *testing.T) {
	boom := errors.New("boom")
	ok, bad := &stub{name: "ok"}, &stub{name: "bad", err: boom}
	done := make(chan error, 1)
	go func() { done <- NewRunner(quiet, ok, bad).Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) || err.Error() != "bad: boom" {
			t.Errorf("Run = %v, want bad: boom", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a stage failed")
	}
	if !ok.stopped.Load() {
		t.Error("the healthy stage was not stopped")
	}
}

// NotReady names the stages that are not ready, and says so while not
// every stage is running.
func TestRunnerNotReady(t *testing.T) {
	a, b := &stub{name: "a"}, &stub{name: "b"}
	r := NewRunner(quiet, a, b)
	if got := r.NotReady(); !slices.Equal(got, []string{"stages starting", "a", "b"}) {
		t.Errorf("before Run: %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	a.ready.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for !r.Running() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // poll interval
	}
	if got := r.NotReady(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("running, a ready: %v, want [b]", got)
	}
	b.ready.Store(true)
	if got := r.NotReady(); len(got) != 0 {
		t.Errorf("all ready: %v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
