package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// MaxClockSkew is how far in the future a token's iat may lie, relative to
// the verifier's clock, before [Verify] refuses the token.
const MaxClockSkew = time.Minute

// Errors returned by [Verify] and [VerifyRequest], always wrapped with
// context: check them with errors.Is.
var (
	// ErrMissing means the request lacks a signature header the scheme
	// needs (X-Dt-Signature; webhook-id, webhook-timestamp or
	// webhook-signature); the wrapping error names it.
	ErrMissing = errors.New("signature: missing header")
	// ErrMalformed means the token is not a three-segment base64url JWS with
	// a JSON header and JSON claims of the expected types, or lacks exp or
	// iat.
	ErrMalformed = errors.New("signature: malformed token")
	// ErrBadSignature means the token is not authentic: its algorithm is not
	// HS256 (alg "none" included), its MAC does not match the secret, or the
	// secret is empty.
	ErrBadSignature = errors.New("signature: bad signature")
	// ErrExpired means the token is outside its validity window: the clock
	// is past exp, or iat lies more than MaxClockSkew in the future.
	ErrExpired = errors.New("signature: token expired")
	// ErrChecksum means the body does not match the token: a checksum claim
	// differs from the hash of the raw body, or the token has neither.
	ErrChecksum = errors.New("signature: checksum mismatch")
)

// Claims are the claims of a verified token.
type Claims struct {
	// Checksum is the lowercase hex SHA-1 of the raw body ("checksum").
	Checksum string `json:"checksum"`
	// ChecksumSHA256 is the lowercase hex SHA-256 of the raw body
	// ("checksum_sha256").
	ChecksumSHA256 string `json:"checksum_sha256"`
	// IssuedAt is the issue time in unix seconds ("iat").
	IssuedAt int64 `json:"iat"`
	// ExpiresAt is the expiry time in unix seconds ("exp").
	ExpiresAt int64 `json:"exp"`
	// ID is the unique token id ("jti").
	ID string `json:"jti"`
}

// rawClaims is the decoding target of the claims segment; pointers tell a
// missing claim from a zero one.
type rawClaims struct {
	Checksum       *string `json:"checksum"`
	ChecksumSHA256 *string `json:"checksum_sha256"`
	IssuedAt       *int64  `json:"iat"`
	ExpiresAt      *int64  `json:"exp"`
	ID             string  `json:"jti"`
}

// Verify checks token against the raw request body and secret at time now
// and returns its claims. It checks, in order: the token's shape, that its
// header names HS256, the HMAC-SHA256 (in constant time), exp (the token is
// expired once now is after exp; there is no leeway) and iat (at most
// MaxClockSkew ahead of now), and finally every checksum claim present
// against the hash of body; at least one checksum must be present.
func Verify(token string, body []byte, secret []byte, now time.Time) (Claims, error) {
	if len(secret) == 0 {
		return Claims{}, fmt.Errorf("%w: empty secret", ErrBadSignature)
	}
	header, payload, mac, err := split(token)
	if err != nil {
		return Claims{}, err
	}
	if err := checkHeader(header); err != nil {
		return Claims{}, err
	}
	if err := checkMAC(token[:len(header)+1+len(payload)], mac, secret); err != nil {
		return Claims{}, err
	}
	c, err := decodeClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	if err := checkTime(c, now); err != nil {
		return Claims{}, err
	}
	if err := checkBody(c, body); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// VerifyRequest finds the X-Dt-Signature header in h, whatever its casing,
// and verifies it with [Verify]. It returns ErrMissing when the header is
// absent or empty.
func VerifyRequest(h http.Header, body []byte, secret []byte, now time.Time) (Claims, error) {
	token := lookup(h)
	if token == "" {
		return Claims{}, fmt.Errorf("%w %s", ErrMissing, Header)
	}
	return Verify(token, body, secret, now)
}

// lookup returns the first value of the signature header. http.Header.Get
// finds canonical keys; a map built by hand may hold any casing.
func lookup(h http.Header) string {
	if v := h.Get(Header); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, Header) && len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	return ""
}

// split cuts a compact JWS into its three segments.
func split(token string) (header, payload, mac string, err error) {
	header, rest, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", "", fmt.Errorf("%w: no segments", ErrMalformed)
	}
	payload, mac, ok = strings.Cut(rest, ".")
	if !ok || strings.Contains(mac, ".") {
		return "", "", "", fmt.Errorf("%w: want 3 segments", ErrMalformed)
	}
	if header == "" || payload == "" || mac == "" {
		return "", "", "", fmt.Errorf("%w: empty segment", ErrMalformed)
	}
	return header, payload, mac, nil
}

// checkHeader accepts only an HS256 header. DT's exact header is recognised
// without decoding it.
func checkHeader(segment string) error {
	if segment == headerSegment {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	if h.Alg != "HS256" {
		return fmt.Errorf("%w: unsupported alg %q", ErrBadSignature, h.Alg)
	}
	return nil
}

// checkMAC compares the token's MAC with HMAC-SHA256(secret, signed) in
// constant time.
func checkMAC(signed, segment string, secret []byte) error {
	var got [sha256.Size]byte
	if base64.RawURLEncoding.DecodedLen(len(segment)) != len(got) {
		return fmt.Errorf("%w: mac is not %d bytes", ErrBadSignature, len(got))
	}
	if _, err := base64.RawURLEncoding.Decode(got[:], []byte(segment)); err != nil {
		return fmt.Errorf("%w: mac: %w", ErrMalformed, err)
	}
	// The decoder ignores the unused low bits of the last character; insist
	// on the canonical encoding so that a token has one spelling only.
	var canon [(sha256.Size*4 + 2) / 3]byte
	base64.RawURLEncoding.Encode(canon[:], got[:])
	if string(canon[:]) != segment {
		return fmt.Errorf("%w: mac is not canonical base64url", ErrBadSignature)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	var want [sha256.Size]byte
	if !hmac.Equal(m.Sum(want[:0]), got[:]) {
		return fmt.Errorf("%w: mac does not match", ErrBadSignature)
	}
	return nil
}

// decodeClaims decodes the claims segment and requires exp and iat.
func decodeClaims(segment string) (Claims, error) {
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	var rc rawClaims
	if err := json.Unmarshal(raw, &rc); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %w", ErrMalformed, err)
	}
	if rc.ExpiresAt == nil || rc.IssuedAt == nil {
		return Claims{}, fmt.Errorf("%w: claims: exp and iat are required", ErrMalformed)
	}
	c := Claims{IssuedAt: *rc.IssuedAt, ExpiresAt: *rc.ExpiresAt, ID: rc.ID}
	if rc.Checksum != nil {
		c.Checksum = *rc.Checksum
	}
	if rc.ChecksumSHA256 != nil {
		c.ChecksumSHA256 = *rc.ChecksumSHA256
	}
	return c, nil
}

// checkTime rejects a token past exp or issued too far in the future.
func checkTime(c Claims, now time.Time) error {
	if now.After(time.Unix(c.ExpiresAt, 0)) {
		return fmt.Errorf("%w: exp %d is before now %d", ErrExpired, c.ExpiresAt, now.Unix())
	}
	if time.Unix(c.IssuedAt, 0).After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: iat %d is in the future (now %d)", ErrExpired, c.IssuedAt, now.Unix())
	}
	return nil
}

// checkBody compares every checksum claim present with the hash of body.
func checkBody(c Claims, body []byte) error {
	if c.Checksum == "" && c.ChecksumSHA256 == "" {
		return fmt.Errorf("%w: token has no checksum claim", ErrChecksum)
	}
	if c.ChecksumSHA256 != "" {
		sum := sha256.Sum256(body)
		if !equalHex(c.ChecksumSHA256, sum[:]) {
			return fmt.Errorf("%w: checksum_sha256 differs from the body's sha-256", ErrChecksum)
		}
	}
	if c.Checksum != "" {
		sum := sha1.Sum(body)
		if !equalHex(c.Checksum, sum[:]) {
			return fmt.Errorf("%w: checksum differs from the body's sha-1", ErrChecksum)
		}
	}
	return nil
}

// equalHex reports whether claim is the hex encoding of sum, in either case,
// without allocating.
func equalHex(claim string, sum []byte) bool {
	const digits = "0123456789abcdef"
	if len(claim) != 2*len(sum) {
		return false
	}
	for i, b := range sum {
		if lowerHex(claim[2*i]) != digits[b>>4] || lowerHex(claim[2*i+1]) != digits[b&0x0f] {
			return false
		}
	}
	return true
}

// lowerHex lower-cases the hex letters A-F and leaves every other byte alone.
func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + ('a' - 'A')
	}
	return c
}
