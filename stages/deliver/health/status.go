package health

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind is how a response counts for the connector's health.
type Kind uint8

// The kinds of outcome of one request.
const (
	// Success is a 2xx.
	Success Kind = iota
	// Failure is any other status (3xx included: redirects are never
	// followed), a timeout or a connection error. It counts toward the
	// circuit breaker and disable_after.
	Failure
	// Throttled is a 429 or 503 with a valid Retry-After: the connector
	// sends nothing new until the given time, and the event is tried
	// again then. It does not count toward the breaker.
	Throttled
	// Gone is a 410: the connector is SYSTEM_DISABLED at once.
	Gone
)

// String names the kind: "success", "failure", "throttled" or "gone".
func (k Kind) String() string {
	return [...]string{"success", "failure", "throttled", "gone"}[k]
}

// Verdict is the classified outcome of one request.
type Verdict struct {
	Kind Kind
	// Until is when a Throttled connector may send again.
	Until time.Time
}

// Classify classifies an answer with HTTP status (0 for no answer: a
// timeout or a connection error) and the value of its Retry-After header
// ("" when absent), received at now. A Retry-After wait is capped at
// maxWait, the connector's largest backoff. A 429 or 503 without a
// Retry-After that parses is an ordinary failure.
func Classify(status int, retryAfter string, now time.Time, maxWait time.Duration) Verdict {
	switch {
	case status >= 200 && status < 300:
		return Verdict{Kind: Success}
	case status == http.StatusGone:
		return Verdict{Kind: Gone}
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		if d, ok := ParseRetryAfter(retryAfter, now); ok {
			return Verdict{Kind: Throttled, Until: now.Add(min(d, maxWait))}
		}
	}
	return Verdict{Kind: Failure}
}

// ParseRetryAfter parses a Retry-After value, either delay-seconds (a
// non-negative whole number) or an HTTP-date, into the wait from now. A
// date in the past gives 0. ok is false for an empty or malformed value.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) { // far beyond any cap; avoids overflow
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
