package deliver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/signature"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// A standard-webhooks connector with two secrets (a rotation) sends, for a
// record handled by the worker, webhook-id = the record's eventId and a
// webhook-signature that the reference library verifies under each secret;
// no X-Dt-Signature.
func TestWorkerSignsStandardWebhooks(t *testing.T) {
	secrets := []string{"whsec_c2VjcmV0LW5ldy0wMTIzNDU2Nzg5YWJjZGVmZ2g=", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	type request struct {
		h    http.Header
		body []byte
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- request{r.Header, body}
	}))
	defer srv.Close()
	w, _ := testWorker(t, srv, "")
	w.conn.SignatureScheme, w.conn.SignatureSecrets, w.conn.SignatureSecret = signature.SchemeStandard, secrets, secrets[0]
	w.sender = NewSender(w.conn, "v1", nil)
	if err := w.handle(context.Background(), record(w.topics.Connector("c"), time.Now(), 0)); err != nil {
		t.Fatal(err)
	}
	req := <-got
	if id := req.h.Get("webhook-id"); id != "e1" {
		t.Errorf("webhook-id = %q, want the eventId e1", id)
	}
	if req.h.Get(signature.Header) != "" {
		t.Errorf("standard-webhooks request also carries %s", signature.Header)
	}
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(req.body, req.h); err != nil {
			t.Errorf("secret %d: reference library rejects the request: %v", i+1, err)
		}
	}
}

// A dt-jwt signature block signs with its first secret only.
func TestSenderDTJWTFirstSecret(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got <- r.Header }))
	defer srv.Close()
	w, _ := testWorker(t, srv, "")
	w.conn.SignatureScheme, w.conn.SignatureSecrets, w.conn.SignatureSecret = signature.SchemeDTJWT, []string{"new", "old"}, "new"
	body := []byte(`{"a":1}`)
	if res := NewSender(w.conn, "v1", nil).SendEvent(context.Background(), "e1", body); !res.OK {
		t.Fatalf("%+v", res)
	}
	h := <-got
	if _, err := signature.VerifyRequest(h, body, []byte("new"), time.Now()); err != nil {
		t.Errorf("first secret: %v", err)
	}
	if _, err := signature.VerifyRequest(h, body, []byte("old"), time.Now()); err == nil {
		t.Error("the second secret verifies too; dt-jwt signs with the first only")
	}
	if h.Get("webhook-signature") != "" {
		t.Error("dt-jwt request carries webhook-signature")
	}
}
