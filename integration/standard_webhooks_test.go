package integration

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/signature"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// A connector with the standard-webhooks scheme and two secrets (a key
// rotation) delivers every event with webhook-id = its eventId and a
// webhook-signature that the reference library verifies under either
// secret, and no X-Dt-Signature.
func TestStandardWebhooksDelivery(t *testing.T) {
	const (
		next = "whsec_c2VjcmV0LW5ldy0wMTIzNDU2Nzg5YWJjZGVmZ2g="
		prev = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	e := newEnv(t)
	rc := newReceiver(t, nil)
	e.connector("sw", `url = "`+rc.URL+`"
  signature {
    scheme  = "standard-webhooks"
    secrets = ["`+next+`", "`+prev+`"]
  }`)
	r := e.start()
	const n = 20
	if code, ans := r.post(t, "application/x-ndjson", events("sw", n)); code != http.StatusAccepted {
		t.Fatalf("ingest: %d %v", code, ans)
	}
	waitFor(t, time.Minute, "all events delivered", func() bool { return rc.delivered() == n })
	_, reqs := rc.snapshot()
	for _, secret := range []string{next, prev} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range reqs {
			if err := wh.Verify(q.body, q.header); err != nil {
				t.Errorf("reference library rejects a delivery: %v", err)
			}
		}
	}
	for _, q := range reqs {
		var body struct {
			Event struct {
				EventID string `json:"eventId"`
			} `json:"event"`
		}
		if err := json.Unmarshal(q.body, &body); err != nil {
			t.Fatal(err)
		}
		if id := q.header.Get("webhook-id"); id == "" || id != body.Event.EventID {
			t.Errorf("webhook-id %q, body eventId %q", id, body.Event.EventID)
		}
		if q.header.Get(signature.Header) != "" {
			t.Error("standard-webhooks delivery carries X-Dt-Signature")
		}
	}
}
