package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/devreceiver"
	"github.com/hookpipe/hookpipe/pipeline/signature"
)

func cmdReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("receive", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:9999", "listen on `ADDR`")
	secrets := &secretList{}
	if env := os.Getenv("HOOKPIPE_RECEIVE_SECRET"); env != "" {
		secrets.vals = []string{env}
	}
	fs.Var(secrets, "secret", "verify signatures with the secret `S` (default $HOOKPIPE_RECEIVE_SECRET; none: do not verify); repeat it to accept any of several, for key rotation")
	scheme := fs.String("scheme", signature.SchemeDTJWT, "signature `SCHEME`: dt-jwt (X-Dt-Signature) or standard-webhooks (webhook-signature, whsec_ secrets)")
	failRate := fs.Float64("failure-rate", 0, "answer this share `F` of requests, 0 to 1, with 503 to exercise retries")
	latency := fs.Duration("latency", 0, "wait `D` (such as 200ms) before each answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *failRate < 0 || *failRate > 1 {
		return fmt.Errorf("--failure-rate %v: want a number from 0 to 1", *failRate)
	}
	opts := devreceiver.Options{Secrets: secrets.vals, Scheme: *scheme, FailureRate: *failRate, Latency: *latency, Out: stdout}
	if err := opts.Check(); err != nil {
		return fmt.Errorf("receive: --secret/--scheme: %w", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	rcv := devreceiver.New(opts)
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	verify := "not verifying signatures"
	if len(secrets.vals) > 0 {
		verify = "verifying " + *scheme + " signatures"
	}
	fmt.Fprintf(stderr, "hookpipe receive: listening on http://%s, %s\n", ln.Addr(), verify)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// secretList is a repeatable --secret flag. The first flag replaces the
// environment's default; later ones add to it. String never shows a secret.
type secretList struct {
	vals []string
	set  bool
}

func (l *secretList) String() string {
	if l == nil || len(l.vals) == 0 {
		return ""
	}
	return fmt.Sprintf("(%d secrets)", len(l.vals))
}

func (l *secretList) Set(v string) error {
	if !l.set {
		l.vals, l.set = nil, true
	}
	l.vals = append(l.vals, v)
	return nil
}
