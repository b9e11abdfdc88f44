package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixture is one real DT Cloud request from testdata/dt-signed-requests.json.
type fixture struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
	Header string `json:"header"`
	Token  string `json:"token"`
	Body   string `json:"body"`
	Claims Claims `json:"claims"`
}

// loadFixtures reads the captured DT requests.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/dt-signed-requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Requests []fixture `json:"requests"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Requests) == 0 {
		t.Fatal("no requests in fixture")
	}
	return file.Requests
}

// during returns a clock inside the fixture token's validity window.
func (f fixture) during() time.Time {
	return time.Unix((f.Claims.IssuedAt+f.Claims.ExpiresAt)/2, 0)
}

// b64 is base64url without padding, as in a JWS.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a token from arbitrary header and claims JSON with a correct
// HMAC, to reach the checks that follow the MAC.
func forge(header, claims string, secret []byte) string {
	signed := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Invariant: both real DT requests verify with their secret while the token
// is valid, and the decoded claims are exactly the fixture's claims.
func TestVerifyDTRequests(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			if f.Header != Header {
				t.Fatalf("fixture header %q, want %q", f.Header, Header)
			}
			got, err := Verify(f.Token, []byte(f.Body), []byte(f.Secret), f.during())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(f.Claims, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// Invariant: the Signer produces DT's tokens byte for byte given the same
// body, iat and jti (same header, claims layout and MAC).
func TestSignReproducesDTTokens(t *testing.T) {
	if got := b64(headerJSON); got != headerSegment {
		t.Fatalf("headerSegment = %q, want %q", headerSegment, got)
	}
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			st := NewSigner([]byte(f.Secret)).state()
			got := st.sign([]byte(f.Body), f.Claims.IssuedAt, []byte(f.Claims.ID))
			if got != f.Token {
				t.Errorf("token\n got %s\nwant %s", got, f.Token)
			}
		})
	}
}

// Invariant: changing any single byte of the body breaks the checksum.
func TestVerifyBodyChanged(t *testing.T) {
	for _, f := range loadFixtures(t) {
		for _, i := range []int{0, len(f.Body) / 2, len(f.Body) - 1} {
			body := []byte(f.Body)
			body[i] ^= 0x01
			_, err := Verify(f.Token, body, []byte(f.Secret), f.during())
			if !errors.Is(err, ErrChecksum) {
				t.Errorf("%s: byte %d changed: err = %v, want ErrChecksum", f.Name, i, err)
			}
		}
	}
}

// Invariant: a token checked with another secret, or with none, is not
// authentic.
func TestVerifyWrongSecret(t *testing.T) {
	f := loadFixtures(t)[0]
	for _, secret := range []string{"wrong-secret", "test-secre", ""} {
		_, err := Verify(f.Token, []byte(f.Body), []byte(secret), f.during())
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("secret %q: err = %v, want ErrBadSignature", secret, err)
		}
	}
}

// Invariant: a token is valid from iat (minus MaxClockSkew) up to and
// including exp, and expired after it.
func TestVerifyValidityWindow(t *testing.T) {
	f := loadFixtures(t)[0]
	iat, exp := time.Unix(f.Claims.IssuedAt, 0), time.Unix(f.Claims.ExpiresAt, 0)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"at iat", iat, nil},
		{"at exp", exp, nil},
		{"just after exp", exp.Add(time.Nanosecond), ErrExpired},
		{"a day after exp", exp.Add(24 * time.Hour), ErrExpired},
		{"iat within skew", iat.Add(-MaxClockSkew), nil},
		{"iat beyond skew", iat.Add(-MaxClockSkew - time.Second), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(f.Token, []byte(f.Body), []byte(f.Secret), tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Invariant: alg none, other algorithms and malformed tokens never verify,
// and each failure carries the sentinel of its cause.
func TestVerifyRejectsBadTokens(t *testing.T) {
	f := loadFixtures(t)[1]
	secret, body, now := []byte(f.Secret), []byte(f.Body), f.during()
	head, claims, mac := splitFixture(t, f.Token)
	rawClaims, _ := base64.RawURLEncoding.DecodeString(claims)
	lastFlipped := mac[:len(mac)-1] + string(mac[len(mac)-1]+1) // same bytes, other low bits
	tests := []struct {
		name, token string
		want        error
	}{
		{"empty", "", ErrMalformed},
		{"one segment", "abc", ErrMalformed},
		{"two segments", head + "." + claims, ErrMalformed},
		{"four segments", f.Token + ".x", ErrMalformed},
		{"empty mac", head + "." + claims + ".", ErrMalformed},
		{"alg none unsigned", b64(`{"alg":"none","typ":"JWT"}`) + "." + claims + ".", ErrMalformed},
		{"alg none signed", b64(`{"alg":"none","typ":"JWT"}`) + "." + claims + "." + mac, ErrBadSignature},
		{"alg HS512", forge(`{"alg":"HS512","typ":"JWT"}`, string(rawClaims), secret), ErrBadSignature},
		{"alg lower case", forge(`{"alg":"hs256"}`, string(rawClaims), secret), ErrBadSignature},
		{"no alg", forge(`{"typ":"JWT"}`, string(rawClaims), secret), ErrBadSignature},
		{"header not base64", "!!!." + claims + "." + mac, ErrMalformed},
		{"header not json", b64("HS256") + "." + claims + "." + mac, ErrMalformed},
		{"mac not base64", head + "." + claims + "." + strings.Repeat("*", len(mac)), ErrMalformed},
		{"mac too short", head + "." + claims + "." + mac[:len(mac)-2], ErrBadSignature},
		{"mac not canonical", head + "." + claims + "." + lastFlipped, ErrBadSignature},
		{"claims swapped", head + "." + b64(`{"exp":9999999999}`) + "." + mac, ErrBadSignature},
		{"claims not base64", forgeSegments(head, "***", secret), ErrMalformed},
		{"claims not json", forge(headerJSON, `[1,2]`, secret), ErrMalformed},
		{"exp is a string", forge(headerJSON, `{"checksum_sha256":"x","exp":"soon","iat":1}`, secret), ErrMalformed},
		{"no exp", forge(headerJSON, `{"checksum_sha256":"x","iat":1}`, secret), ErrMalformed},
		{"no checksum", forge(headerJSON, fmtClaims(f.Claims.IssuedAt, f.Claims.ExpiresAt), secret), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.token, body, secret, now)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// splitFixture returns the three segments of a token.
func splitFixture(t *testing.T, token string) (head, claims, mac string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("fixture token has %d segments", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// forgeSegments signs already-encoded segments, which need not be base64.
func forgeSegments(head, claims string, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(head + "." + claims))
	return head + "." + claims + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// fmtClaims renders claims with times but no checksum.
func fmtClaims(iat, exp int64) string {
	b, _ := json.Marshal(map[string]any{"iat": iat, "exp": exp, "jti": "x"})
	return string(b)
}

// Invariant: the header is found whatever its casing, including in a map
// built by hand with a non-canonical key, and its absence is ErrMissing.
func TestVerifyRequestHeaderLookup(t *testing.T) {
	f := loadFixtures(t)[0]
	canonical := http.Header{}
	canonical.Set("x-dt-signature", f.Token)
	tests := []struct {
		name string
		h    http.Header
		want error
	}{
		{"canonical", canonical, nil},
		{"raw lower case", http.Header{"x-dt-signature": {f.Token}}, nil},
		{"raw upper case", http.Header{"X-DT-SIGNATURE": {f.Token}}, nil},
		{"absent", http.Header{"Content-Type": {"application/json"}}, ErrMissing},
		{"empty value", http.Header{Header: {""}}, ErrMissing},
		{"nil", nil, ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyRequest(tt.h, []byte(f.Body), []byte(f.Secret), f.during())
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// Invariant: whatever Sign produces, Verify accepts with the same secret and
// body, also when many goroutines share one Signer.
func TestSignVerifyRoundTrip(t *testing.T) {
	secret := []byte("round-trip-secret")
	s := NewSigner(secret)
	now := time.Unix(1_800_000_000, 0)
	bodies := [][]byte{nil, []byte("{}"), bytes.Repeat([]byte("x"), 1<<16)}
	for _, f := range loadFixtures(t) {
		bodies = append(bodies, []byte(f.Body))
	}
	errs := make(chan error, 16*len(bodies))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for _, body := range bodies {
				_, err := Verify(s.Sign(body, now), body, secret, now)
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// Invariant: every token is fresh: signing the same body twice, even in the
// same second, yields different jti values and so different tokens.
func TestSignFreshJTI(t *testing.T) {
	s := NewSigner([]byte("k"))
	now := time.Unix(1_800_000_000, 0)
	seen := map[string]bool{}
	for range 1000 {
		c, err := Verify(s.Sign([]byte("same"), now), []byte("same"), []byte("k"), now)
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Fatalf("jti %q repeated", c.ID)
		}
		seen[c.ID] = true
	}
}

// Invariant: the claims hold exactly checksum, checksum_sha256, exp, iat and
// jti, in DT's order, with exp = iat + 3600 and the checksums of the body.
func TestSignClaimsShape(t *testing.T) {
	body := []byte(loadFixtures(t)[1].Body)
	now := time.Unix(1_800_000_123, 999_000_000)
	_, claims, _ := splitFixture(t, NewSigner([]byte("k")).Sign(body, now))
	raw, err := base64.RawURLEncoding.DecodeString(claims)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"checksum", "checksum_sha256", "exp", "iat", "jti"}
	if diff := cmp.Diff(wantKeys, jsonKeys(t, raw)); diff != "" {
		t.Errorf("claim keys in order (-want +got):\n%s", diff)
	}
	sum1, sum256 := sha1.Sum(body), sha256.Sum256(body)
	want := map[string]any{
		"checksum":        hex.EncodeToString(sum1[:]),
		"checksum_sha256": hex.EncodeToString(sum256[:]),
		"iat":             float64(1_800_000_123),
		"exp":             float64(1_800_000_123 + 3600),
		"jti":             m["jti"],
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if jti, _ := m["jti"].(string); len(jti) != jtiLen {
		t.Errorf("jti %q: want %d characters", jti, jtiLen)
	}
}

// jsonKeys lists the top-level keys of a JSON object in document order.
func jsonKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	var ordered []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		ordered = append(ordered, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return ordered
}

// Invariant: Verify never panics on arbitrary input, accepts only tokens whose
// checksums match the body, and accepts every token Sign makes.
func FuzzVerify(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.Token, []byte(fx.Body))
	}
	f.Add("", []byte{})
	f.Add("a.b.c", []byte("{}"))
	f.Add(b64(`{"alg":"none"}`)+"."+b64(`{"exp":1}`)+".", []byte("x"))
	secret := []byte("test-secret")
	signer := NewSigner(secret)
	f.Fuzz(func(t *testing.T, token string, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		if c, err := Verify(token, body, secret, now); err == nil {
			if checkBody(c, body) != nil {
				t.Fatalf("accepted a token whose checksums do not match: %+v", c)
			}
		}
		if _, err := Verify(signer.Sign(body, now), body, secret, now); err != nil {
			t.Fatalf("own token rejected: %v", err)
		}
	})
}
