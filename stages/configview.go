package stages

import (
	"cmp"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
)

// ConfigView is GET /v1/config: the connectors in force, without secrets,
// when they were loaded and the hash of the whole configuration
// (config.Hash), so that `hookpipe plan` and operators can tell what a
// process runs.
type ConfigView struct {
	// LoadedAt is when the connectors were loaded (RFC 3339, UTC).
	LoadedAt time.Time `json:"loadedAt"`
	// Hash is config.Hash of the connectors.
	Hash string `json:"hash"`
	// Connectors are the connectors in force, sorted by name.
	Connectors []ConnectorConfig `json:"connectors"`
	// Rejected, when set, is the last reading of the connectors directory
	// that a reload rejected (SIGHUP or --watch); the configuration above
	// stayed in force. A later good reading clears it.
	Rejected *RejectedView `json:"rejected,omitempty"`
}

// ConnectorConfig is one connector's settings as GET /v1/config shows
// them: header values are "(redacted)"; of the signature only the scheme
// and the number of secrets appear. Hash (config.ConnectorHash) covers
// the hidden values too, so a change of a secret alone changes it;
// SecretsHash (config.SecretsHash) covers only them.
type ConnectorConfig struct {
	Name        string            `json:"name"`
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Labels      []string          `json:"labels"`
	Signature   *SignatureView    `json:"signature"`
	Headers     map[string]string `json:"headers"`
	Timeout     string            `json:"timeout"`
	MaxInFlight int               `json:"maxInFlight"`
	Disabled    bool              `json:"disabled"`
	Retry       RetryView         `json:"retry"`
	TLS         bool              `json:"tls"`
	Ordering    string            `json:"ordering"`
	Hash        string            `json:"hash"`
	SecretsHash string            `json:"secretsHash"`
	// CircuitBreaker, RateLimit (requests per second for the cluster, 0:
	// none), DisableAfter and HTTP2 are the endpoint-health and transport
	// settings; a process older than them leaves them out.
	CircuitBreaker *CircuitBreakerView `json:"circuitBreaker,omitempty"`
	RateLimit      float64             `json:"rateLimit"`
	DisableAfter   string              `json:"disableAfter,omitempty"`
	HTTP2          bool                `json:"http2"`
}

// CircuitBreakerView is a connector's circuit_breaker settings.
type CircuitBreakerView struct {
	FailureRatio float64 `json:"failureRatio"`
	MinRequests  int     `json:"minRequests"`
	Window       string  `json:"window"`
	Cooldown     string  `json:"cooldown"`
	Disabled     bool    `json:"disabled"`
}

// SignatureView is a connector's signature scheme and how many secrets it
// has; never the secrets.
type SignatureView struct {
	Scheme  string `json:"scheme"`
	Secrets int    `json:"secrets"`
}

// NewConfigView returns the view of conns loaded at loadedAt.
func NewConfigView(conns []*pipeline.Connector, loadedAt time.Time) ConfigView {
	v := ConfigView{LoadedAt: loadedAt.UTC(), Hash: config.Hash(conns), Connectors: []ConnectorConfig{}}
	for _, c := range conns {
		v.Connectors = append(v.Connectors, NewConnectorConfig(c))
	}
	return v
}

// NewConnectorConfig returns the view of one connector.
func NewConnectorConfig(c *pipeline.Connector) ConnectorConfig {
	v := ConnectorConfig{
		Name: c.Name, URL: c.URL.Redacted(), Events: nonNil(c.Events), Labels: nonNil(c.Labels),
		Headers: map[string]string{}, Timeout: c.Timeout.String(), MaxInFlight: c.MaxInFlight,
		Disabled: c.Disabled, Retry: RetryView{MaxAge: c.Retry.MaxAge.String(), Backoff: []string{}},
		TLS: c.TLS != nil, Hash: config.ConnectorHash(c), SecretsHash: config.SecretsHash(c),
		Ordering: cmp.Or(c.Ordering, pipeline.OrderingNone),
		CircuitBreaker: &CircuitBreakerView{
			FailureRatio: c.CircuitBreaker.FailureRatio, MinRequests: c.CircuitBreaker.MinRequests,
			Window: c.CircuitBreaker.Window.String(), Cooldown: c.CircuitBreaker.Cooldown.String(),
			Disabled: c.CircuitBreaker.Disabled,
		},
		RateLimit: c.RateLimit, DisableAfter: c.DisableAfter.String(), HTTP2: c.HTTP2,
	}
	switch {
	case len(c.SignatureSecrets) > 0:
		v.Signature = &SignatureView{Scheme: c.SignatureScheme, Secrets: len(c.SignatureSecrets)}
	case c.SignatureSecret != "":
		v.Signature = &SignatureView{Scheme: "dt-jwt", Secrets: 1}
	}
	for k := range c.Headers {
		v.Headers[k] = "(redacted)"
	}
	for _, b := range c.Retry.Backoff {
		v.Retry.Backoff = append(v.Retry.Backoff, b.String())
	}
	return v
}
