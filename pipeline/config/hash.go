package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"slices"
	"strconv"

	"github.com/hookpipe/hookpipe/pipeline"
)

// ConnectorHash returns "sha256:<hex>" of c's settings in a canonical
// form: every attribute, secrets and header values included (each through
// its own SHA-256, so the form never holds a secret), the tls block as its
// presence and its client certificates. Two connectors with the same
// settings have the same hash, in any process; the file a connector was
// declared in does not count. The tls block enters through its presence,
// its client certificates and the digest of its ca_file's contents
// (pipeline.Connector.TLSCADigest), so a CA file rewritten under the same
// path changes the hash. Attributes added after the first release (the
// endpoint-health ones, http2, ordering, the CA digest) are written only
// when they differ from the loader's defaults, so that the hashes of
// connectors that do not set them stay as they were.
func ConnectorHash(c *pipeline.Connector) string {
	h := sha256.New()
	writeConnector(h, c)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Hash returns "sha256:<hex>" of a whole configuration: the hashes of its
// connectors in name order. It identifies the configuration a process
// runs (GET /v1/config) and lets `hookpipe plan` tell a directory that
// matches it.
func Hash(conns []*pipeline.Connector) string {
	sorted := slices.Clone(conns)
	slices.SortFunc(sorted, func(a, b *pipeline.Connector) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	h := sha256.New()
	for _, c := range sorted {
		field(h, ConnectorHash(c))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// SecretsHash returns "sha256:<hex>" of only c's hidden values: its
// signature secrets and header values, each through its own SHA-256. It
// lets `hookpipe plan` say that a secret changed without showing one.
func SecretsHash(c *pipeline.Connector) string {
	h := sha256.New()
	writeSecrets(h, c)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// writeConnector writes c's canonical form to h, every value length-prefixed.
func writeConnector(h hash.Hash, c *pipeline.Connector) {
	field(h, c.Name)
	if c.URL != nil {
		field(h, c.URL.String())
	}
	list(h, c.Events)
	list(h, c.Labels)
	field(h, c.SignatureScheme)
	writeSecrets(h, c)
	field(h, c.Timeout.String())
	field(h, strconv.Itoa(c.MaxInFlight))
	field(h, strconv.FormatBool(c.Disabled))
	field(h, strconv.Itoa(len(c.Retry.Backoff)))
	for _, b := range c.Retry.Backoff {
		field(h, b.String())
	}
	field(h, c.Retry.MaxAge.String())
	field(h, strconv.FormatBool(c.TLS != nil))
	if c.TLS != nil {
		for _, cert := range c.TLS.Certificates {
			for _, der := range cert.Certificate {
				field(h, digest(string(der)))
			}
		}
	}
	if c.OrderedByDevice() { // only when set, so that older hashes stay valid
		field(h, "ordering="+c.Ordering)
	}
	writeLater(h, c)
}

// writeLater writes the attributes added after ordering, each only when
// it is not the loader's default (see ConnectorHash).
func writeLater(h hash.Hash, c *pipeline.Connector) {
	if cb := c.CircuitBreaker; cb != pipeline.DefaultCircuitBreaker() {
		field(h, "circuit_breaker="+strconv.FormatFloat(cb.FailureRatio, 'g', -1, 64)+","+
			strconv.Itoa(cb.MinRequests)+","+cb.Window.String()+","+cb.Cooldown.String()+","+strconv.FormatBool(cb.Disabled))
	}
	if c.RateLimit != 0 {
		field(h, "rate_limit="+strconv.FormatFloat(c.RateLimit, 'g', -1, 64))
	}
	if c.DisableAfter != pipeline.DefaultDisableAfter {
		field(h, "disable_after="+c.DisableAfter.String())
	}
	if c.HTTP2 {
		field(h, "http2=true")
	}
	if c.TLSCADigest != "" {
		field(h, "tls.ca_file="+c.TLSCADigest)
	}
}

// writeSecrets writes the digests of c's signature secrets and of its
// header values (with their names).
func writeSecrets(h hash.Hash, c *pipeline.Connector) {
	secrets := c.SignatureSecrets
	if len(secrets) == 0 && c.SignatureSecret != "" {
		secrets = []string{c.SignatureSecret}
	}
	field(h, strconv.Itoa(len(secrets)))
	for _, s := range secrets {
		field(h, digest(s))
	}
	keys := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	field(h, strconv.Itoa(len(keys)))
	for _, k := range keys {
		field(h, k)
		field(h, digest(c.Headers[k]))
	}
}

// list writes a length and the elements.
func list(h hash.Hash, vs []string) {
	field(h, strconv.Itoa(len(vs)))
	for _, v := range vs {
		field(h, v)
	}
}

// field writes s length-prefixed, so that no two forms run together.
func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

// digest is the hex SHA-256 of a secret value.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
