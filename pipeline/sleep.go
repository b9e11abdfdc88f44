package pipeline

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends, and reports whether d elapsed. It
// is the one context-aware pause of the project: no wait may ignore
// shutdown.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
