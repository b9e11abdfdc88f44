//go:build !linux

package bench

import "time"

// procCPU is not available without /proc: ok is always false, and the
// bench reports no CPU figures.
func procCPU(int) (time.Duration, bool) { return 0, false }
