package devreceiver_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hookpipe/hookpipe/pipeline/devreceiver"
	"github.com/hookpipe/hookpipe/pipeline/signature"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// A standard-webhooks receiver holding two secrets accepts a request the
// reference library signed with either, and refuses one signed with a
// third, an unsigned one and a dt-jwt one (401).
func TestStandardWebhooksReceiver(t *testing.T) {
	const (
		next  = "whsec_c2VjcmV0LW5ldy0wMTIzNDU2Nzg5YWJjZGVmZ2g="
		prev  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		other = "whsec_b3RoZXItc2VjcmV0LW5vdC11c2VkLWFueXdoZXJlIQ=="
	)
	var out lockedBuffer
	r := devreceiver.New(devreceiver.Options{Scheme: signature.SchemeStandard, Secrets: []string{next, prev}, Out: &out, Now: clock(now)})
	sign := func(secret string) http.Header {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign("c0example00000000001", now, []byte(temperatureBody))
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", "c0example00000000001")
		h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	for _, tt := range []struct {
		name string
		h    http.Header
		code int
	}{
		{"new secret", sign(next), http.StatusNoContent},
		{"old secret", sign(prev), http.StatusNoContent},
		{"unknown secret", sign(other), http.StatusUnauthorized},
		{"unsigned", http.Header{}, http.StatusUnauthorized},
		{"dt-jwt", signed("s3cret", temperatureBody, now), http.StatusUnauthorized},
	} {
		if got := post(r, temperatureBody, tt.h).Code; got != tt.code {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.code)
		}
	}
	if st := r.Stats(); st.Verified != 2 || st.Rejected != 3 {
		t.Errorf("stats %+v, want 2 verified and 3 rejected", st)
	}
	if !strings.Contains(out.String(), "OK  verified  temperature") {
		t.Errorf("no verified line in\n%s", out.String())
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, o := range []devreceiver.Options{
		{Scheme: "hmac"},
		{Scheme: signature.SchemeStandard, Secret: "whsec_%%%"},
		{Scheme: "nope", Secret: "x"},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("Check(%q) = nil", o.Scheme)
		} else if strings.Contains(err.Error(), "%%%") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	if err := (devreceiver.Options{Secret: "a", Secrets: []string{"b"}}).Check(); err != nil {
		t.Errorf("dt-jwt with two secrets: %v", err)
	}
}
