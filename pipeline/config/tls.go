package config

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/hookpipe/hookpipe/pipeline"
)

// rawTLS is a connector's tls block as gohcl decodes it.
type rawTLS struct {
	CAFile   *hcl.Attribute `hcl:"ca_file,optional"`
	CertFile *hcl.Attribute `hcl:"cert_file,optional"`
	KeyFile  *hcl.Attribute `hcl:"key_file,optional"`
}

// tlsConfig converts a tls block: ca_file adds PEM roots to the system's
// (verification is always on), cert_file and key_file, together, give a
// client certificate for mTLS. Relative paths are relative to the
// connector file's directory. It returns nil when the block is absent.
// It sets c.TLSCADigest to the hex SHA-256 of the ca_file's contents and
// c.TLSFiles to the files the block names, resolved.
func (d *configDecoder) tlsConfig(raw *rawTLS, def hcl.Range, c *pipeline.Connector) *tls.Config {
	if raw == nil {
		return nil
	}
	dir := filepath.Dir(c.File)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if it, ok := d.str(raw.CAFile); ok {
		c.TLSFiles = append(c.TLSFiles, resolve(dir, it.val))
		cfg.RootCAs = d.caPool(it, dir, &c.TLSCADigest)
	}
	cert, certOK := d.str(raw.CertFile)
	key, keyOK := d.str(raw.KeyFile)
	switch {
	case certOK && keyOK:
		c.TLSFiles = append(c.TLSFiles, resolve(dir, cert.val), resolve(dir, key.val))
		pair, err := tls.LoadX509KeyPair(resolve(dir, cert.val), resolve(dir, key.val))
		if err != nil {
			d.errorAt(cert.rng, "Invalid client certificate", fmt.Sprintf(
				"cert_file and key_file do not load as a key pair: %s.", pathless(err)))
			return cfg
		}
		cfg.Certificates = []tls.Certificate{pair}
	case certOK != keyOK:
		d.errorAt(def, "Incomplete client certificate", "Set both cert_file and key_file, or neither.")
	}
	return cfg
}

// caPool returns the system roots plus the PEM certificates of it, and
// sets *digest to the hex SHA-256 of the file's contents.
func (d *configDecoder) caPool(it configValue, dir string, digest *string) *x509.CertPool {
	pem, err := os.ReadFile(resolve(dir, it.val))
	if err != nil {
		d.errorAt(it.rng, "Invalid ca_file", fmt.Sprintf("Cannot read %q: %s.", it.val, pathless(err)))
		return nil
	}
	sum := sha256.Sum256(pem)
	*digest = hex.EncodeToString(sum[:])
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		d.errorAt(it.rng, "Invalid ca_file", fmt.Sprintf("%q holds no PEM certificate.", it.val))
	}
	return pool
}

func resolve(dir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// pathless drops the path a *fs.PathError repeats.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
