package bench

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/stages/deliver"
)

// Over HTTPS the receiver counts connections and handshakes. The deliver
// stage's default client speaks HTTP/1.1 even to an endpoint that offers
// HTTP/2, one connection per concurrent request (64 requests of 50 ms
// after a first one); its http2 client shares one connection.
func TestTLSReceiverCountsConnectionsAndProtocol(t *testing.T) {
	ca, err := newRunCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		tr     transport
		client *http.Client
		wantH2 bool
		conns  int64
	}{
		{"https/1.1", httpsH1, deliver.NewHTTPClient(64, ca.clientTLS()), false, 64},
		{"h2 offered, default client", httpsH2, deliver.NewHTTPClient(64, ca.clientTLS()), false, 64},
		{"https/2, http2 client", httpsH2, deliver.NewHTTP2Client(ca.clientTLS()), true, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(time.Now(), 64)
			rcv, err := startReceiver(receiverConfig{Latency: 50 * time.Millisecond, Transport: tt.tr, Cert: &ca.Server}, rec)
			if err != nil {
				t.Fatal(err)
			}
			defer rcv.close()
			if !strings.HasPrefix(rcv.URL(), "https://") {
				t.Fatalf("URL %s is not https", rcv.URL())
			}
			client := tt.client
			defer client.CloseIdleConnections()
			r := pipeline.NewRenderer(nil)
			if err := postWebhook(context.Background(), client, rcv.URL(), webhookBody(r, 0, 0)); err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 64)
			for seq := range 64 {
				go func() { errs <- postWebhook(context.Background(), client, rcv.URL(), webhookBody(r, seq, 0)) }()
			}
			for range 64 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			c := settledConns(rcv, 5*time.Second)
			if c.Conns != tt.conns {
				t.Errorf("connections = %d, want %d", c.Conns, tt.conns)
			}
			if c.Handshakes != c.Conns || c.Hellos != c.Conns || c.Resumed != 0 {
				t.Errorf("handshakes, hellos, resumed = %d, %d, %d; want one full handshake per connection (%d)",
					c.Handshakes, c.Hellos, c.Resumed, c.Conns)
			}
			if gotH2 := c.H2 == c.Conns; gotH2 != tt.wantH2 || (!tt.wantH2 && c.H2 != 0) {
				t.Errorf("h2 connections = %d of %d, want h2 %v", c.H2, c.Conns, tt.wantH2)
			}
			if rec.got.Load() != 64 || rec.dups.Load() != 1 {
				t.Errorf("recorded %d events and %d duplicates, want 64 and 1", rec.got.Load(), rec.dups.Load())
			}
		})
	}
}

// The http2 client does not fall back to HTTP/1.1: against an endpoint
// without HTTP/2 the request fails.
func TestHTTP2ClientNeedsH2(t *testing.T) {
	ca, err := newRunCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rcv, err := startReceiver(receiverConfig{Transport: httpsH1, Cert: &ca.Server}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.close()
	client := deliver.NewHTTP2Client(ca.clientTLS())
	if err := postWebhook(context.Background(), client, rcv.URL(), []byte(`{}`)); err == nil {
		t.Error("an HTTP/2-only client got an answer from an HTTP/1.1-only endpoint")
	}
}

// A connector file with the run's CA as tls.ca_file loads, and its TLS
// configuration trusts the receivers' certificate.
func TestConnectorsHCLWithCALoads(t *testing.T) {
	dir := t.TempDir()
	ca, err := newRunCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	hcl := connectorsHCL([]connSpec{{name: "fast", maxInFlight: 10}}, []string{"https://127.0.0.1:1/hook"}, ca.File, true)
	if err := os.WriteFile(filepath.Join(dir, "bench.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	got, diags := config.LoadConnectors(dir, func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatalf("LoadConnectors: %s\n%s", config.FormatDiagnostics(diags), hcl)
	}
	if len(got) != 1 || got[0].TLS == nil || got[0].TLS.RootCAs == nil || !got[0].HTTP2 {
		t.Fatalf("connector = %+v, want the run's CA as roots and http2", got)
	}
	leaf, err := x509.ParseCertificate(ca.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: got[0].TLS.RootCAs, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("the connector does not trust the receivers' certificate: %v", err)
	}
}

// settledConns polls the receiver's counts until every accepted
// connection has finished its handshake, or timeout passes.
func settledConns(rcv *receiver, timeout time.Duration) connSnapshot {
	deadline := time.Now().Add(timeout)
	for {
		c := rcv.conns.snapshot()
		if c.Handshakes == c.Conns || time.Now().After(deadline) {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
}
