package deliver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"

	"github.com/hookpipe/hookpipe/pipeline"
)

// certAuthority issues certificates for the TLS tests.
type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *certAuthority {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookpipe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &certAuthority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a leaf certificate and key, as PEM, for a server on
// 127.0.0.1 or for a client.
func (ca *certAuthority) issue(t *testing.T, serial int64, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "hookpipe test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// mtlsServer starts an https endpoint on loopback that requires a client
// certificate issued by ca.
func mtlsServer(t *testing.T, ca *certAuthority) *httptest.Server {
	t.Helper()
	certPEM, keyPEM := ca.issue(t, 2, x509.ExtKeyUsageServerAuth)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// loadTLSConnector writes the PEM files and a connector whose tls block
// is tlsBlock, and loads it the way hookpipe run does.
func loadTLSConnector(t *testing.T, url, tlsBlock string, files map[string][]byte) *pipeline.Connector {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := "connector \"secure\" {\n  url = \"" + url + "\"\n  timeout = \"2s\"\n" + tlsBlock + "\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "c.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	conns, diags := config.LoadConnectors(dir, func(string) (string, bool) { return "", false })
	if diags.HasErrors() {
		t.Fatalf("load: %s", config.FormatDiagnostics(diags))
	}
	return conns[0]
}

// A connector with ca_file and a client certificate delivers to an mTLS
// endpoint; without the CA the endpoint's certificate is refused, and
// without the client certificate the endpoint refuses the connection.
func TestSenderMutualTLS(t *testing.T) {
	ca := newCA(t)
	srv := mtlsServer(t, ca)
	clientCert, clientKey := ca.issue(t, 3, x509.ExtKeyUsageClientAuth)
	files := map[string][]byte{"ca.pem": ca.pem, "client.pem": clientCert, "client.key": clientKey}
	cases := []struct {
		name, block string
		ok          bool
		errHas      string
	}{
		{"ca and client cert", "tls {\n ca_file = \"ca.pem\"\n cert_file = \"client.pem\"\n key_file = \"client.key\"\n}", true, ""},
		{"no tls block", "", false, "certificate"},
		{"ca without client cert", "tls {\n ca_file = \"ca.pem\"\n}", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := loadTLSConnector(t, srv.URL, c.block, files)
			res := NewSender(conn, "test", nil).Send(context.Background(), []byte(`{}`))
			if res.OK != c.ok || !strings.Contains(res.Err, c.errHas) {
				t.Fatalf("result %+v, want ok=%v with error containing %q", res, c.ok, c.errHas)
			}
		})
	}
}

// A bad tls block is reported at its source, like every other config error.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not pem"), 0o600)
	src := "connector \"a\" {\n  url = \"https://x.example\"\n  tls {\n    ca_file = \"junk.pem\"\n  }\n}\n" +
		"connector \"b\" {\n  url = \"https://x.example\"\n  tls {\n    cert_file = \"c.pem\"\n  }\n}\n"
	_ = os.WriteFile(filepath.Join(dir, "c.hcl"), []byte(src), 0o600)
	_, diags := config.LoadConnectors(dir, func(string) (string, bool) { return "", false })
	got := config.FormatDiagnostics(diags)
	for _, want := range []string{
		"c.hcl:4:15: Invalid ca_file: \"junk.pem\" holds no PEM certificate.",
		"c.hcl:7:1: Incomplete client certificate: Set both cert_file and key_file, or neither.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostics\n%s\nlack %q", got, want)
		}
	}
}
