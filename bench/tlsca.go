package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// runCA is the certificate authority of one bench run: it signs the
// receivers' certificate (for 127.0.0.1), and the connectors trust it
// through tls { ca_file }, as they would trust a private CA in production.
type runCA struct {
	// File is the CA certificate, PEM, for the connectors' ca_file.
	File string
	// Pool holds the CA certificate, for the bench's own clients.
	Pool *x509.CertPool
	// Server is the receivers' certificate and key, signed by the CA.
	Server tls.Certificate
}

// newRunCA makes a CA and a server certificate for 127.0.0.1 with ECDSA
// P-256 keys (what most public endpoints serve), valid for a day, and
// writes the CA certificate to dir/ca.pem.
func newRunCA(dir string) (*runCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("bench CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookpipe bench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("bench CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("bench CA certificate: %w", err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("bench server key: %w", err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("bench server certificate: %w", err)
	}
	ca := &runCA{File: filepath.Join(dir, "ca.pem"), Pool: x509.NewCertPool()}
	ca.Pool.AddCert(caCert)
	ca.Server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(ca.File, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("write the bench CA: %w", err)
	}
	return ca, nil
}

// clientTLS is the TLS configuration a connector with tls { ca_file }
// gets, for the bench's own clients (the ceiling).
func (ca *runCA) clientTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.Pool}
}
