//go:build !linux

package bench

import "time"

// cpuTime is not measured outside Linux: it returns 0.
func (p *proc) cpuTime() time.Duration { return 0 }
