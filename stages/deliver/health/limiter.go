package health

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a connector's rate limit in this process: a token bucket
// refilled at the connector's cluster-wide rate_limit times this process's
// share of the connector's partitions. The burst is a tenth of a second's
// worth (at least 1), so that the rate holds over short spans too. A nil
// *Limiter, or one for rate_limit 0, never limits. Safe for concurrent use.
type Limiter struct {
	total float64 // requests per second for the whole cluster

	mu    sync.Mutex
	share float64
	lim   *rate.Limiter
}

// NewLimiter returns the limiter for a cluster-wide rate (0: no limit),
// with the whole rate until SetShare says otherwise.
func NewLimiter(total float64) *Limiter {
	if total <= 0 {
		return nil
	}
	l := &Limiter{total: total, share: 1, lim: rate.NewLimiter(rate.Limit(total), burst(total))}
	return l
}

func burst(r float64) int { return max(1, int(math.Ceil(r/10))) }

// SetShare sets this process's share: assigned of the connector's total
// partitions (over its main topic and retry tiers). With none assigned,
// the share is left as it was: no record arrives to be limited.
func (l *Limiter) SetShare(assigned, total int) {
	if l == nil || assigned <= 0 || total <= 0 {
		return
	}
	share := min(float64(assigned)/float64(total), 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if share == l.share {
		return
	}
	l.share = share
	r := l.total * share
	l.lim.SetLimit(rate.Limit(r))
	l.lim.SetBurst(burst(r))
}

// Rate returns the requests per second this process may send.
func (l *Limiter) Rate() float64 {
	if l == nil {
		return math.Inf(1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total * l.share
}

// delay takes a token at now and returns 0, or returns how long until a
// token is available and takes none.
func (l *Limiter) delay(now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	if l.lim.AllowN(now, 1) {
		return 0
	}
	need := 1 - l.lim.TokensAt(now)
	return max(time.Duration(need/float64(l.lim.Limit())*float64(time.Second)), time.Millisecond)
}
