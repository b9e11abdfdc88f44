package signature

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// vector is one signing vector of the Standard Webhooks reference libraries.
type vector struct {
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/standard-webhooks-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return file.Vectors
}

// Two secrets in the whsec_ form; the second is the vector's key without
// its prefix, which DecodeStandardSecret also accepts.
const (
	newSecret = "whsec_c2VjcmV0LW5ldy0wMTIzNDU2Nzg5YWJjZGVmZ2g="
	oldSecret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func mustStandardSigner(t testing.TB, secrets ...string) *StandardSigner {
	t.Helper()
	s, err := NewStandardSigner(secrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStandardSignVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		ts, sig := mustStandardSigner(t, v.Secret).Sign(v.ID, []byte(v.Payload), time.Unix(v.Timestamp, 0))
		if ts != strconv.FormatInt(v.Timestamp, 10) || sig != v.Signature {
			t.Errorf("Sign(%q) = %q, %q; want %d, %q", v.ID, ts, sig, v.Timestamp, v.Signature)
		}
		// The vector verifies with our verifier too, at its own time.
		h := http.Header{}
		h.Set("webhook-id", v.ID)
		h.Set("webhook-timestamp", strconv.FormatInt(v.Timestamp, 10))
		h.Set("webhook-signature", v.Signature)
		ver, err := NewStandardVerifier([]string{v.Secret})
		if err != nil {
			t.Fatal(err)
		}
		if err := ver.VerifyRequest(h, []byte(v.Payload), time.Unix(v.Timestamp+10, 0)); err != nil {
			t.Errorf("vector does not verify: %v", err)
		}
	}
}

// TestStandardSignVerifiedByReference: every secret of a rotating signer
// verifies with the reference library, each on its own, and a third
// secret does not.
func TestStandardSignVerifiedByReference(t *testing.T) {
	s := mustStandardSigner(t, newSecret, oldSecret)
	body := []byte(`{"event":{"eventId":"d4k1m3s2c3fb2mq1nr7g"}}`)
	h := http.Header{}
	s.SignRequest(h, "d4k1m3s2c3fb2mq1nr7g", body, time.Now())
	if got := len(strings.Split(h.Get("webhook-signature"), " ")); got != 2 {
		t.Fatalf("webhook-signature has %d entries, want 2: %q", got, h.Get("webhook-signature"))
	}
	if h.Get("webhook-id") != "d4k1m3s2c3fb2mq1nr7g" {
		t.Errorf("webhook-id = %q", h.Get("webhook-id"))
	}
	for _, secret := range []string{newSecret, "whsec_" + oldSecret} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("reference library rejects a signature: %v", err)
		}
	}
	other, _ := standardwebhooks.NewWebhook("whsec_b3RoZXItc2VjcmV0LW5vdC11c2VkLWFueXdoZXJlIQ==")
	if err := other.Verify(body, h); err == nil {
		t.Error("reference library accepts a secret the signer does not hold")
	}
	if err := mustReference(t, newSecret).Verify([]byte(`{"event":{}}`), h); err == nil {
		t.Error("reference library accepts a changed body")
	}
}

func mustReference(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

// TestStandardVerifyReferenceCases runs the reference library's own
// verification cases (go/webhook_test.go TestWebhook) against
// StandardVerifier, with headers the reference library signed.
func TestStandardVerifyReferenceCases(t *testing.T) {
	const id, secret = "msg_p5jXN8AQM9LWM0D4loKWxJek", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	payload := []byte(`{"test": 2432232314}`)
	now := time.Now()
	signed := func(at time.Time) http.Header {
		sig, err := mustReference(t, secret).Sign(id, at, payload)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set(standardwebhooks.HeaderWebhookID, id)
		h.Set(standardwebhooks.HeaderWebhookSignature, sig)
		h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
		return h
	}
	const wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	tests := []struct {
		name   string
		at     time.Time
		modify func(http.Header)
		want   error
	}{
		{"valid signature", now, nil, nil},
		{"missing id", now, func(h http.Header) { h.Del("webhook-id") }, ErrMissing},
		{"missing timestamp", now, func(h http.Header) { h.Del("webhook-timestamp") }, ErrMissing},
		{"missing signature", now, func(h http.Header) { h.Del("webhook-signature") }, ErrMissing},
		{"invalid signature", now, func(h http.Header) { h.Set("webhook-signature", wrong) }, ErrBadSignature},
		{"partial signature", now, func(h http.Header) { h.Set("webhook-signature", "v1,") }, ErrBadSignature},
		{"old timestamp", now.Add(-StandardTolerance - time.Second), nil, ErrExpired},
		{"new timestamp", now.Add(StandardTolerance + time.Second), nil, ErrExpired},
		{"timestamp not a number", now, func(h http.Header) { h.Set("webhook-timestamp", "soon") }, ErrMalformed},
		{"v2 only", now, func(h http.Header) {
			h.Set("webhook-signature", "v2,"+strings.TrimPrefix(h.Get("webhook-signature"), "v1,"))
		}, ErrBadSignature},
		{"valid among several", now, func(h http.Header) {
			h.Set("webhook-signature", strings.Join([]string{wrong, "v2,x", h.Get("webhook-signature"), wrong}, " "))
		}, nil},
	}
	v, err := NewStandardVerifier([]string{"whsec_" + secret})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed(tt.at)
			if tt.modify != nil {
				tt.modify(h)
			}
			err := v.VerifyRequest(h, payload, now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("VerifyRequest = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestStandardVerifyRotation: a receiver holding old and new secrets
// accepts a sender that signs with either, and one holding neither rejects.
func TestStandardVerifyRotation(t *testing.T) {
	body := []byte(`{}`)
	now := time.Now()
	both, _ := NewStandardVerifier([]string{newSecret, oldSecret})
	onlyNew, _ := NewStandardVerifier([]string{newSecret})
	for _, signWith := range []string{newSecret, oldSecret} {
		h := http.Header{}
		mustStandardSigner(t, signWith).SignRequest(h, "id-1", body, now)
		if err := both.VerifyRequest(h, body, now); err != nil {
			t.Errorf("rotating receiver rejects a request: %v", err)
		}
		err := onlyNew.VerifyRequest(h, body, now)
		if wantOK := signWith == newSecret; wantOK != (err == nil) {
			t.Errorf("receiver with the new secret only, request signed with %q...: err = %v", signWith[:8], err)
		}
	}
}

func TestDecodeStandardSecretErrors(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_abc"} {
		if _, err := DecodeStandardSecret(s); err == nil {
			t.Errorf("DecodeStandardSecret(%q) = nil error", s)
		} else if s != "" && s != "whsec_" && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
			t.Errorf("error %q shows the secret", err)
		}
	}
	if _, err := NewStandardSigner(nil); err == nil {
		t.Error("NewStandardSigner(nil) = nil error")
	}
	if _, err := NewStandardSigner([]string{newSecret, "whsec_%%"}); err == nil || !strings.Contains(err.Error(), "secret 2") {
		t.Errorf("NewStandardSigner with a bad second secret: %v, want an error naming secret 2", err)
	}
}

func TestStandardSignAllocatesOnlyTheValues(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	s := mustStandardSigner(t, newSecret, oldSecret)
	body := []byte(strings.Repeat("x", 400))
	now := time.Now()
	s.Sign("id", body, now) // fill the pool
	if n := testing.AllocsPerRun(100, func() { s.Sign("d4k1m3s2c3fb2mq1nr7g", body, now) }); n > 1 {
		t.Errorf("Sign allocates %v times per call, want 1 (the values)", n)
	}
}

// TestStandardSignConcurrent shares one signer across goroutines (run with
// -race); every signature verifies.
func TestStandardSignConcurrent(t *testing.T) {
	s := mustStandardSigner(t, newSecret, oldSecret)
	v, _ := NewStandardVerifier([]string{oldSecret})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				body := []byte(strconv.Itoa(g*1000 + i))
				h := http.Header{}
				now := time.Now()
				s.SignRequest(h, "id-"+string(body), body, now)
				if err := v.VerifyRequest(h, body, now); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSchemeConstructors(t *testing.T) {
	if _, err := NewRequestSigner("hmac", []string{"x"}); err == nil || !strings.Contains(err.Error(), `"hmac"`) {
		t.Errorf("unknown scheme: %v", err)
	}
	if _, err := NewRequestSigner(SchemeDTJWT, nil); err == nil {
		t.Error("dt-jwt without a secret: nil error")
	}
	if _, err := NewVerifier(SchemeDTJWT, []string{"a", ""}); err == nil {
		t.Error("dt-jwt verifier with an empty secret: nil error")
	}
	// dt-jwt: the first secret signs; a verifier holding old and new accepts.
	sg, err := NewRequestSigner(SchemeDTJWT, []string{"new", "old"})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	body, now := []byte(`{}`), time.Now()
	sg.SignRequest(h, "id", body, now)
	for _, tt := range []struct {
		secrets []string
		ok      bool
	}{{[]string{"old", "new"}, true}, {[]string{"new"}, true}, {[]string{"old"}, false}} {
		v, err := NewVerifier("", tt.secrets)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyRequest(h, body, now); (err == nil) != tt.ok {
			t.Errorf("dt-jwt verifier %v: err = %v, want ok=%v", tt.secrets, err, tt.ok)
		}
	}
	v, _ := NewVerifier("", []string{"x", "new"})
	if err := v.VerifyRequest(h, body, now.Add(2*Lifetime)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired token with the matching secret second: %v, want ErrExpired", err)
	}
}
