package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"sync"
	"time"

	"github.com/rs/xid"
)

// Header is the name of the HTTP header that carries the token.
const Header = "X-Dt-Signature"

// Lifetime is how long a token stays valid after it was issued: every token
// has exp = iat + 3600 seconds, as DT Cloud's tokens have.
const Lifetime = time.Hour

// headerJSON is the JOSE header of every token, and headerSegment its
// base64url encoding (the first segment of every token, DT's included).
const (
	headerJSON    = `{"alg":"HS256","typ":"JWT"}`
	headerSegment = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
)

// jtiLen is the length of a token id: the string form of an xid, the same
// shape as DT's ids.
const jtiLen = 20

// maxClaimsLen bounds the claims JSON: fixed text and checksums (~150
// bytes), two int64s (at most 20 bytes each) and the jti.
const maxClaimsLen = 256

// tokenCap is the capacity of the token scratch buffer: header segment,
// base64url (unpadded: 4 characters per 3 bytes, rounded up) claims and MAC,
// and two dots.
const tokenCap = len(headerSegment) + (maxClaimsLen*4+2)/3 + (sha256.Size*4+2)/3 + 2

// Signer signs request bodies with one connector's secret. Create it with
// [NewSigner] (the zero Signer signs with an empty secret). A Signer is safe
// for concurrent use by many goroutines and keeps a pool of HMAC states and
// scratch buffers, so that [Signer.Sign] allocates only the returned string.
type Signer struct {
	key    []byte
	states sync.Pool // of *signState
}

// signState is the per-call working set of Sign, reused through the pool.
type signState struct {
	mac    hash.Hash
	claims []byte
	token  []byte
	sum    [sha256.Size]byte
	jti    [jtiLen]byte
}

// NewSigner returns a Signer for secret. The secret is copied, so the caller
// may reuse its slice. An empty secret is accepted, but [Verify] rejects
// tokens checked against an empty secret: a connector without a secret
// sends no signature at all.
func NewSigner(secret []byte) *Signer {
	return &Signer{key: append([]byte(nil), secret...)}
}

// state takes a working set from the pool, or makes one.
func (s *Signer) state() *signState {
	if st, ok := s.states.Get().(*signState); ok {
		return st
	}
	return &signState{
		mac:    hmac.New(sha256.New, s.key),
		claims: make([]byte, 0, maxClaimsLen),
		token:  make([]byte, 0, tokenCap),
	}
}

// Sign returns a fresh token for body issued at now: a new jti on every
// call, iat = now in unix seconds, exp = iat + 3600. body must be the exact
// bytes sent as the request body.
func (s *Signer) Sign(body []byte, now time.Time) string {
	st := s.state()
	defer s.states.Put(st)
	id := xid.NewWithTime(now)
	id.Encode(st.jti[:])
	return st.sign(body, now.Unix(), st.jti[:])
}

// sign builds the token with the given iat and jti. It is split from Sign so
// tests can reproduce DT's tokens byte for byte.
func (st *signState) sign(body []byte, iat int64, jti []byte) string {
	st.claims = appendClaims(st.claims[:0], body, iat, jti)
	tok := append(st.token[:0], headerSegment...)
	tok = append(tok, '.')
	tok = base64.RawURLEncoding.AppendEncode(tok, st.claims)
	st.mac.Reset()
	st.mac.Write(tok)
	mac := st.mac.Sum(st.sum[:0])
	tok = append(tok, '.')
	tok = base64.RawURLEncoding.AppendEncode(tok, mac)
	st.token = tok
	return string(tok)
}

// appendClaims appends the claims JSON for body to dst, with DT's key order:
// checksum, checksum_sha256, exp, iat, jti.
func appendClaims(dst, body []byte, iat int64, jti []byte) []byte {
	sum1 := sha1.Sum(body)
	sum256 := sha256.Sum256(body)
	dst = append(dst, `{"checksum":"`...)
	dst = hex.AppendEncode(dst, sum1[:])
	dst = append(dst, `","checksum_sha256":"`...)
	dst = hex.AppendEncode(dst, sum256[:])
	dst = append(dst, `","exp":`...)
	dst = strconv.AppendInt(dst, iat+int64(Lifetime/time.Second), 10)
	dst = append(dst, `,"iat":`...)
	dst = strconv.AppendInt(dst, iat, 10)
	dst = append(dst, `,"jti":"`...)
	dst = append(dst, jti...)
	return append(dst, `"}`...)
}
