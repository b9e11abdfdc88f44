package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
)

// caPEM returns a new self-signed CA certificate as PEM.
func caPEM(t *testing.T, name string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// loadDirFiles writes files into a new directory and loads it.
func loadDirFiles(t *testing.T, dir string, files map[string][]byte) *pipeline.Connector {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cs, diags := LoadConnectors(dir, mapEnv(nil))
	if diags.HasErrors() || len(cs) != 1 {
		t.Fatalf("%d connectors: %s", len(cs), FormatDiagnostics(diags))
	}
	return cs[0]
}

// Every endpoint-health attribute, http2 and the contents of a tls
// ca_file (same path) count: each change alone changes ConnectorHash, and
// a reload's Compare calls the connector changed, so SIGHUP applies it.
func TestHashCoversEveryAttribute(t *testing.T) {
	const base = `  tls { ca_file = "ca.pem" }`
	for _, tt := range []struct{ name, body string }{
		{"circuit_breaker.failure_ratio", "  circuit_breaker { failure_ratio = 0.9 }"},
		{"circuit_breaker.min_requests", "  circuit_breaker { min_requests = 5 }"},
		{"circuit_breaker.window", `  circuit_breaker { window = "1m" }`},
		{"circuit_breaker.cooldown", `  circuit_breaker { cooldown = "30s" }`},
		{"circuit_breaker.disabled", "  circuit_breaker { disabled = true }"},
		{"rate_limit", "  rate_limit = 100"},
		{"disable_after", `  disable_after = "24h"`},
		{"http2", "  http2 = true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, ca := t.TempDir(), caPEM(t, "ca")
			old := loadDirFiles(t, dir, map[string][]byte{"ca.pem": ca, "x.hcl": []byte(connectorSrc(base))})
			nw := loadDirFiles(t, dir, map[string][]byte{"x.hcl": []byte(connectorSrc(base + "\n" + tt.body))})
			checkChanged(t, old, nw)
		})
	}
	t.Run("rate_limit 500 to 100", func(t *testing.T) {
		dir := t.TempDir()
		old := loadDirFiles(t, dir, map[string][]byte{"x.hcl": []byte(connectorSrc("  rate_limit = 500"))})
		nw := loadDirFiles(t, dir, map[string][]byte{"x.hcl": []byte(connectorSrc("  rate_limit = 100"))})
		checkChanged(t, old, nw)
	})
	t.Run("tls.ca_file contents", func(t *testing.T) {
		dir, src := t.TempDir(), []byte(connectorSrc(base))
		old := loadDirFiles(t, dir, map[string][]byte{"ca.pem": caPEM(t, "old"), "x.hcl": src})
		nw := loadDirFiles(t, dir, map[string][]byte{"ca.pem": caPEM(t, "new")})
		checkChanged(t, old, nw)
		if again := loadDirFiles(t, dir, nil); ConnectorHash(again) != ConnectorHash(nw) {
			t.Error("the same CA file read twice hashes differently")
		}
		if want := filepath.Join(dir, "ca.pem"); len(nw.TLSFiles) != 1 || nw.TLSFiles[0] != want {
			t.Errorf("TLSFiles = %v, want [%s] (what --watch watches)", nw.TLSFiles, want)
		}
	})
}

// checkChanged fails unless old and nw hash differently and Compare
// calls the connector changed.
func checkChanged(t *testing.T, old, nw *pipeline.Connector) {
	t.Helper()
	if ConnectorHash(old) == ConnectorHash(nw) {
		t.Errorf("the change left ConnectorHash %s", ConnectorHash(old))
	}
	d := Compare([]*pipeline.Connector{old}, []*pipeline.Connector{nw})
	if len(d.Changed) != 1 || len(d.Unchanged) != 0 {
		t.Errorf("Compare: %+v, want the connector changed", d)
	}
}

// A connector that sets none of the later attributes, or sets them to
// their defaults, keeps the hash it had before they were hashed: a plan
// against an older process, or a reload after an upgrade, sees no change.
func TestHashOfDefaultsIsStable(t *testing.T) {
	// ConnectorHash of these sources before the endpoint-health
	// attributes, http2 and the CA digest entered the hash.
	for _, tt := range []struct{ src, want string }{
		{connectorSrc(""), "sha256:8d7a3a145202bd9ebdad240a8952dc62232ed2220522eade2d5c7881b45c799a"},
		{connectorSrc("  signature_secret = \"one\"\n  ordering = \"device\""),
			"sha256:01c8d4a7ddf65ca7be7d9731e2c5c4b32c769e9f3f4a87b5f4b2dfd9e7a53ae9"},
	} {
		got := ConnectorHash(mustLoad(t, tt.src)[0])
		if got != tt.want {
			t.Errorf("%s: hash %s, want %s as before", tt.src, got, tt.want)
		}
	}
	explicit := connectorSrc(`  disable_after = "120h"
  http2 = false
  circuit_breaker {
    failure_ratio = 0.5
    min_requests  = 20
    window        = "30s"
    cooldown      = "5s"
    disabled      = false
  }`)
	if a, b := ConnectorHash(mustLoad(t, explicit)[0]), ConnectorHash(mustLoad(t, connectorSrc(""))[0]); a != b {
		t.Errorf("defaults written out hash %s, omitted %s", a, b)
	}
}
