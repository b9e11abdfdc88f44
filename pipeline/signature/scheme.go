package signature

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Signature scheme names, as written in a connector's signature block.
const (
	// SchemeDTJWT is DT Cloud's X-Dt-Signature JWT (the default).
	SchemeDTJWT = "dt-jwt"
	// SchemeStandard is Standard Webhooks v1: webhook-id,
	// webhook-timestamp and webhook-signature.
	SchemeStandard = "standard-webhooks"
)

// Schemes returns the scheme names, the default first.
func Schemes() []string { return []string{SchemeDTJWT, SchemeStandard} }

// RequestSigner puts one scheme's signature headers on an outgoing
// request. Implementations are safe for concurrent use.
type RequestSigner interface {
	// SignRequest sets the signature headers in h for one attempt to send
	// body, the event eventID, at now. It allocates only the header values.
	SignRequest(h http.Header, eventID string, body []byte, now time.Time)
}

// Verifier checks one scheme's signature headers on an incoming request.
// Implementations are read-only and safe for concurrent use.
type Verifier interface {
	// VerifyRequest returns nil when h signs body under one of the
	// verifier's secrets and is fresh at now; errors wrap ErrMissing,
	// ErrMalformed, ErrExpired, ErrBadSignature or ErrChecksum.
	VerifyRequest(h http.Header, body []byte, now time.Time) error
}

// SignRequest sets X-Dt-Signature to a fresh token for body; eventID is
// not part of a DT token.
func (s *Signer) SignRequest(h http.Header, _ string, body []byte, now time.Time) {
	h[Header] = []string{s.Sign(body, now)}
}

// SignRequest sets webhook-id to eventID and webhook-timestamp and
// webhook-signature as [StandardSigner.Sign] computes them.
func (s *StandardSigner) SignRequest(h http.Header, eventID string, body []byte, now time.Time) {
	ts, sig := s.Sign(eventID, body, now)
	vals := []string{eventID, ts, sig}
	h[HeaderWebhookID] = vals[0:1:1]
	h[HeaderWebhookTimestamp] = vals[1:2:2]
	h[HeaderWebhookSignature] = vals[2:3:3]
}

// NewRequestSigner returns the signer of scheme ("" means dt-jwt) for
// secrets: dt-jwt signs with the first secret only; standard-webhooks
// signs with every secret, in order. It needs at least one non-empty
// secret; errors never contain a secret.
func NewRequestSigner(scheme string, secrets []string) (RequestSigner, error) {
	switch scheme {
	case "", SchemeDTJWT:
		if len(secrets) == 0 || secrets[0] == "" {
			return nil, errors.New("dt-jwt needs a non-empty secret")
		}
		return NewSigner([]byte(secrets[0])), nil
	case SchemeStandard:
		return NewStandardSigner(secrets)
	}
	return nil, fmt.Errorf("unknown signature scheme %q (want %s or %s)", scheme, SchemeDTJWT, SchemeStandard)
}

// NewVerifier returns the verifier of scheme ("" means dt-jwt) that
// accepts a request signed with any of secrets, for receivers that rotate
// keys. It needs at least one secret; errors never contain a secret.
func NewVerifier(scheme string, secrets []string) (Verifier, error) {
	switch scheme {
	case "", SchemeDTJWT:
		keys := make([][]byte, 0, len(secrets))
		for i, s := range secrets {
			if s == "" {
				return nil, fmt.Errorf("secret %d is empty", i+1)
			}
			keys = append(keys, []byte(s))
		}
		if len(keys) == 0 {
			return nil, errors.New("dt-jwt needs at least one secret")
		}
		return dtVerifier{keys: keys}, nil
	case SchemeStandard:
		return NewStandardVerifier(secrets)
	}
	return nil, fmt.Errorf("unknown signature scheme %q (want %s or %s)", scheme, SchemeDTJWT, SchemeStandard)
}

// dtVerifier verifies X-Dt-Signature against several secrets.
type dtVerifier struct{ keys [][]byte }

// VerifyRequest tries each secret with [VerifyRequest]. The MAC is checked
// before time and checksums, so an error other than ErrBadSignature means
// the secret matched and is returned at once.
func (v dtVerifier) VerifyRequest(h http.Header, body []byte, now time.Time) error {
	var first error
	for _, k := range v.keys {
		_, err := VerifyRequest(h, body, k, now)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrBadSignature) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}
