package pipeline

import (
	"crypto/tls"
	"net/url"
	"time"
)

// Connector is one validated connector, decoded from a `connector "name"`
// block in connectors.d. Every field holds its final value: defaults are
// applied and durations parsed by LoadConnectors. A Connector is read-only
// after loading and safe for concurrent use.
type Connector struct {
	// Name is the block label; it matches ^[a-z0-9][a-z0-9-]{0,62}$.
	Name string
	// URL is the endpoint; https, or http only to a loopback host.
	URL *url.URL
	// Events lists the event types forwarded; empty means all types.
	Events []string
	// Labels lists the device label keys copied into the body's "labels".
	Labels []string
	// SignatureSecret is the first of SignatureSecrets, "" when the
	// connector is unsigned; with dt-jwt it is the secret that signs. It
	// must never be logged or shown.
	SignatureSecret string
	// SignatureScheme is "dt-jwt" (X-Dt-Signature, from signature_secret
	// or a signature block) or "standard-webhooks"; "" when unsigned.
	SignatureScheme string
	// SignatureSecrets are the signature block's secrets in order (or the
	// one signature_secret). standard-webhooks signs with each; dt-jwt
	// with the first. Never logged or shown.
	SignatureSecrets []string
	// Headers are added to every request. Values may be secrets and are
	// never shown.
	Headers map[string]string
	// Timeout bounds one request, connect to last body byte. Default 10s.
	Timeout time.Duration
	// MaxInFlight bounds concurrent requests per connector and per stage
	// process. Default 1000.
	MaxInFlight int
	// Disabled connectors receive nothing; fanout skips them.
	Disabled bool
	// Retry holds the retry ladder.
	Retry RetryPolicy
	// CircuitBreaker says when the connector's endpoint is considered
	// down and how it is probed; see CircuitBreaker.
	CircuitBreaker CircuitBreaker
	// RateLimit bounds requests per second to the endpoint for the whole
	// cluster; 0 means no limit.
	RateLimit float64
	// DisableAfter puts the connector in SYSTEM_DISABLED after this long
	// of attempts without a single 2xx. Default 120h; 0 (a Connector not
	// made by the loader) never disables.
	DisableAfter time.Duration
	// TLS, from the tls block, adds CA roots and a client certificate for
	// https endpoints; nil uses the system roots. Verification is always
	// on: there is no way to turn it off.
	TLS *tls.Config
	// TLSCADigest is the hex SHA-256 of the tls block's ca_file contents
	// as the loader read them; "" without a ca_file. A root pool cannot be
	// hashed, so config.ConnectorHash uses it: a CA file rewritten under
	// the same path changes the connector (the client certificate enters
	// the hash from TLS.Certificates).
	TLSCADigest string
	// TLSFiles are the files the tls block names (ca_file, cert_file,
	// key_file), resolved against the connector file's directory: what
	// `hookpipe run --watch` watches besides the directory.
	TLSFiles []string
	// HTTP2, from the http2 attribute, speaks HTTP/2 only (ALPN "h2",
	// https only): a few multiplexed connections instead of one per
	// request in flight. False, the default, speaks HTTP/1.1 with up to
	// MaxInFlight kept-alive connections.
	HTTP2 bool
	// Ordering is OrderingNone (the default, as DT: events may arrive in
	// any order) or OrderingDevice: the events of one device are
	// delivered in ingest order, one request at a time per device.
	Ordering string
	// File is the file the connector was declared in, for messages.
	File string
}

// The values of Connector.Ordering.
const (
	// OrderingNone delivers events in any order, many at a time per
	// device, as DT does.
	OrderingNone = "none"
	// OrderingDevice delivers the events of one device in ingest order,
	// at most one request in flight per device.
	OrderingDevice = "device"
)

// OrderedByDevice reports whether c delivers each device's events in
// ingest order (ordering = "device").
func (c *Connector) OrderedByDevice() bool { return c.Ordering == OrderingDevice }

// RetryPolicy is a connector's retry ladder. Tier n waits Backoff[n] after
// the event entered it; a failure in the last tier goes back to the last
// tier. Events older than MaxAge, counted from ingest, go to the DLQ.
type RetryPolicy struct {
	// Backoff is one fixed delay per retry tier. Default
	// 10s, 1m, 5m, 30m, 1h. Never empty.
	Backoff []time.Duration
	// MaxAge is how long after ingest an event may still be delivered.
	// Default 12h.
	MaxAge time.Duration
}

// Defaults for connector attributes, as the README's Connectors section
// documents them.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxInFlight = 1000
	DefaultMaxAge      = 12 * time.Hour
	// DefaultDisableAfter is DT's 5 days without a 2xx.
	DefaultDisableAfter = 120 * time.Hour
)

// CircuitBreaker is a connector's circuit_breaker block. The breaker opens
// when, within Window, at least MinRequests attempts were made and at
// least FailureRatio of them failed. While open, one probe is sent after
// Cooldown; each failed probe doubles the wait, up to MaxBreakerCooldown.
type CircuitBreaker struct {
	// FailureRatio is the share of failed attempts that opens the
	// breaker, in (0, 1]. Default 0.5.
	FailureRatio float64
	// MinRequests is the number of attempts in Window below which the
	// breaker never opens. Default 20.
	MinRequests int
	// Window is how far back attempts count. Default 30s.
	Window time.Duration
	// Cooldown is the wait before the first probe. Default 5s.
	Cooldown time.Duration
	// Disabled turns the breaker off.
	Disabled bool
}

// MaxBreakerCooldown caps the doubling wait between failed probes.
const MaxBreakerCooldown = 5 * time.Minute

// DefaultCircuitBreaker returns the breaker's defaults: 0.5, 20, 30s, 5s.
func DefaultCircuitBreaker() CircuitBreaker {
	return CircuitBreaker{FailureRatio: 0.5, MinRequests: 20, Window: 30 * time.Second, Cooldown: 5 * time.Second}
}

// DefaultBackoff returns the default retry ladder: 10s, 1m, 5m, 30m, 1h.
func DefaultBackoff() []time.Duration {
	return []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour}
}

// Wants reports whether the connector is enabled and its events filter
// admits eventType.
func (c *Connector) Wants(eventType string) bool {
	if c.Disabled {
		return false
	}
	if len(c.Events) == 0 {
		return true
	}
	for _, e := range c.Events {
		if e == eventType {
			return true
		}
	}
	return false
}

// Tier returns the retry tier that follows a failure in tier n; n = -1 is
// the connector's main topic. The last tier repeats.
func (r RetryPolicy) Tier(n int) int {
	if n+1 >= len(r.Backoff) {
		return len(r.Backoff) - 1
	}
	return n + 1
}
