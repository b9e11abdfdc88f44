package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com, spec v1) header
// names, in the canonical form net/http uses. HTTP header names ignore
// case; the spec writes them in lower case.
const (
	// HeaderWebhookID carries the message id: hookpipe's eventId.
	HeaderWebhookID = "Webhook-Id"
	// HeaderWebhookTimestamp carries the attempt's time in unix seconds.
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	// HeaderWebhookSignature carries one "v1,<base64 MAC>" per secret,
	// separated by single spaces.
	HeaderWebhookSignature = "Webhook-Signature"
)

// SecretPrefix is the prefix of a Standard Webhooks secret: "whsec_"
// followed by the standard base64 of the key bytes. [DecodeStandardSecret]
// accepts a secret with or without it.
const SecretPrefix = "whsec_"

// StandardTolerance is how far a webhook-timestamp may lie from the
// verifier's clock, either way, as in the reference libraries.
const StandardTolerance = 5 * time.Minute

// sigLen is the length of one "v1,<base64 of 32 bytes>" signature.
const sigLen = len("v1,") + (sha256.Size+2)/3*4

// DecodeStandardSecret returns the key bytes of a Standard Webhooks
// secret: the standard base64 after an optional "whsec_" prefix. The
// error never contains the secret.
func DecodeStandardSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(secret, SecretPrefix)
	if s == "" {
		return nil, errors.New("the secret is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New(`the secret is not "whsec_" followed by standard base64`)
	}
	return key, nil
}

// StandardSigner signs request bodies for the Standard Webhooks scheme
// with one or more keys. Create it with [NewStandardSigner]. It is safe for
// concurrent use; it keeps a pool of HMAC states so that [StandardSigner.Sign]
// allocates only the header values it returns.
type StandardSigner struct {
	keys   [][]byte
	states sync.Pool // of *standardState
}

// standardState is the per-call working set of Sign, reused through the pool.
type standardState struct {
	macs   []hash.Hash // one per key
	prefix []byte      // id "." timestamp "."
	out    []byte
	sum    [sha256.Size]byte
}

// NewStandardSigner decodes secrets once, each with [DecodeStandardSecret],
// and returns a signer that puts one signature per secret, in the given
// order, on every request. It needs at least one secret; an error names
// the secret's position, never its value.
func NewStandardSigner(secrets []string) (*StandardSigner, error) {
	keys, err := decodeSecrets(secrets)
	if err != nil {
		return nil, err
	}
	return &StandardSigner{keys: keys}, nil
}

// decodeSecrets decodes every secret, naming a bad one by its position.
func decodeSecrets(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, errors.New("standard-webhooks needs at least one secret")
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		k, err := DecodeStandardSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
		keys[i] = k
	}
	return keys, nil
}

// state takes a working set from the pool, or makes one.
func (s *StandardSigner) state() *standardState {
	if st, ok := s.states.Get().(*standardState); ok {
		return st
	}
	st := &standardState{macs: make([]hash.Hash, len(s.keys))}
	for i, k := range s.keys {
		st.macs[i] = hmac.New(sha256.New, k)
	}
	st.out = make([]byte, 0, 20+len(s.keys)*(sigLen+1))
	return st
}

// Sign returns the webhook-timestamp and webhook-signature header values
// for a request with message id id and body sent at now: the signature of
// each key is the standard base64 of HMAC-SHA256(key, id + "." +
// timestamp + "." + body). Both values share one allocation.
func (s *StandardSigner) Sign(id string, body []byte, now time.Time) (timestamp, signature string) {
	st := s.state()
	defer s.states.Put(st)
	prefix := append(st.prefix[:0], id...)
	prefix = append(prefix, '.')
	prefix = strconv.AppendInt(prefix, now.Unix(), 10)
	out := append(st.out[:0], prefix[len(id)+1:]...)
	n := len(out)
	prefix = append(prefix, '.')
	st.prefix = prefix
	for i, m := range st.macs {
		if i > 0 {
			out = append(out, ' ')
		}
		m.Reset()
		m.Write(prefix)
		m.Write(body)
		out = append(out, "v1,"...)
		out = base64.StdEncoding.AppendEncode(out, m.Sum(st.sum[:0]))
	}
	st.out = out
	both := string(out)
	return both[:n], both[n:]
}
