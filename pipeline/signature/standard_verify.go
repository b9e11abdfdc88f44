package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// StandardVerifier verifies Standard Webhooks requests against one or more
// keys, so that a receiver can accept the old and the new secret while it
// rotates. Create it with [NewStandardVerifier]; it is read-only and safe
// for concurrent use.
type StandardVerifier struct {
	keys [][]byte
}

// NewStandardVerifier decodes secrets once, each with
// [DecodeStandardSecret]. It needs at least one secret; an error names the
// secret's position, never its value.
func NewStandardVerifier(secrets []string) (*StandardVerifier, error) {
	keys, err := decodeSecrets(secrets)
	if err != nil {
		return nil, err
	}
	return &StandardVerifier{keys: keys}, nil
}

// VerifyRequest checks the webhook-id, webhook-timestamp and
// webhook-signature headers of h (any casing http.Header.Get finds)
// against the raw body at time now. It returns nil when any "v1," entry of
// webhook-signature matches the MAC under any key (compared in constant
// time) and the timestamp lies within [StandardTolerance] of now. Errors
// wrap ErrMissing (a header is absent or empty), ErrMalformed (the
// timestamp is not a decimal integer), ErrExpired (outside the tolerance)
// or ErrBadSignature (no entry matches), in that order of checking.
func (v *StandardVerifier) VerifyRequest(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	switch {
	case id == "":
		return fmt.Errorf("%w webhook-id", ErrMissing)
	case ts == "":
		return fmt.Errorf("%w webhook-timestamp", ErrMissing)
	case sigs == "":
		return fmt.Errorf("%w webhook-signature", ErrMissing)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not unix seconds", ErrMalformed, ts)
	}
	at := time.Unix(sec, 0)
	if now.Sub(at) > StandardTolerance || at.Sub(now) > StandardTolerance {
		return fmt.Errorf("%w: webhook-timestamp %d is more than %s from now %d", ErrExpired, sec, StandardTolerance, now.Unix())
	}
	var want [sha256.Size]byte
	var enc [(sha256.Size + 2) / 3 * 4]byte
	for _, k := range v.keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		base64.StdEncoding.Encode(enc[:], m.Sum(want[:0]))
		for entry := range strings.FieldsSeq(sigs) {
			mac, ok := strings.CutPrefix(entry, "v1,")
			if ok && hmac.Equal([]byte(mac), enc[:]) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrBadSignature)
}
