package devreceiver

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/signature"
)

// Check reports what is wrong with opts' scheme or secrets, naming a bad
// secret by position, never by value.
func (o Options) Check() error {
	_, err := o.verifier()
	return err
}

// verifier returns the verifier of o's scheme and secrets, nil when there
// is no secret.
func (o Options) verifier() (signature.Verifier, error) {
	var secrets []string
	for _, s := range append([]string{o.Secret}, o.Secrets...) {
		if s != "" {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) == 0 {
		if o.Scheme != "" && o.Scheme != signature.SchemeDTJWT && o.Scheme != signature.SchemeStandard {
			return nil, fmt.Errorf("unknown signature scheme %q", o.Scheme)
		}
		return nil, nil
	}
	return signature.NewVerifier(o.Scheme, secrets)
}

// verify checks the signature when a secret is set and returns the
// signature state for the line: verified, unsigned or unchecked (signed, but
// no secret to check with).
func (r *Receiver) verify(h http.Header, body []byte, now time.Time) (string, error) {
	if r.verifier == nil {
		if h.Get(signature.Header) != "" || h.Get(signature.HeaderWebhookSignature) != "" {
			return "unchecked", nil
		}
		return "unsigned", nil
	}
	if err := r.verifier.VerifyRequest(h, body, now); err != nil {
		return "", err
	}
	r.verified.Add(1)
	return "verified", nil
}

// reason is the short text of a 401 answer; the details go to Out only.
func reason(err error) string {
	switch {
	case errors.Is(err, signature.ErrMissing):
		return "missing signature"
	case errors.Is(err, signature.ErrExpired):
		return "expired signature"
	case errors.Is(err, signature.ErrChecksum):
		return "checksum mismatch"
	case errors.Is(err, signature.ErrMalformed):
		return "malformed signature"
	default:
		return "bad signature"
	}
}
