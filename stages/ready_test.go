package stages

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// When Kafka stops answering the way it did, /readyz says why: here the
// broker comes back on the same port speaking TLS to a plaintext client.
func TestReadyzNamesTheKafkaFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	plain, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := New(ctx, Options{
		Kafka: kafka.Config{Brokers: []string{"127.0.0.1:" + strconv.Itoa(port)}}, Stages: []string{"ingest"},
		Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		plain.Close()
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitReadyz(t, p.Addr(), func(code int, _ string) bool { return code == http.StatusOK })

	plain.Close()
	secure, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.TLS(selfSigned(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer secure.Close()
	waitReadyz(t, p.Addr(), func(code int, body string) bool {
		return code == http.StatusServiceUnavailable && strings.Contains(body, "plaintext client against a TLS listener")
	})
}

// waitReadyz polls /readyz until ok holds for its answer, for 30 s.
func waitReadyz(t *testing.T, addr string, ok func(code int, body string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = strconv.Itoa(resp.StatusCode) + " " + string(b)
			if ok(resp.StatusCode, string(b)) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("/readyz never gave the expected answer; last: %s", last)
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}
