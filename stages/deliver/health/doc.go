// Package health decides, per connector, whether a request may be sent to
// the endpoint now: the circuit breaker, throttling by 429/503 with
// Retry-After, the runtime states (ACTIVE, CIRCUIT_OPEN, THROTTLED,
// USER_DISABLED, SYSTEM_DISABLED), the cluster-wide rate limit and the
// store of states on the compacted <p>.state topic.
//
// Nothing here reads the clock by itself on a decision path: callers pass
// now, so that tests drive time by hand.
package health
