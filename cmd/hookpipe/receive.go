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
)

func cmdReceive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("receive", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:9999", "listen on `ADDR`")
	secret := fs.String("secret", os.Getenv("HOOKPIPE_RECEIVE_SECRET"), "verify X-Dt-Signature with the signing secret `S` (default $HOOKPIPE_RECEIVE_SECRET; empty: do not verify)")
	failRate := fs.Float64("failure-rate", 0, "answer this share `F` of requests, 0 to 1, with 503 to exercise retries")
	latency := fs.Duration("latency", 0, "wait `D` (such as 200ms) before each answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *failRate < 0 || *failRate > 1 {
		return fmt.Errorf("--failure-rate %v: want a number from 0 to 1", *failRate)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	rcv := devreceiver.New(devreceiver.Options{Secret: *secret, FailureRate: *failRate, Latency: *latency, Out: stdout})
	srv := &http.Server{Handler: rcv, ReadHeaderTimeout: 5 * time.Second}
	verify := "not verifying signatures"
	if *secret != "" {
		verify = "verifying X-Dt-Signature"
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
