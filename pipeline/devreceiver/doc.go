// Package devreceiver is the development webhook receiver behind
// `hookpipe receive`: an http.Handler that plays the customer endpoint of a
// Data Connector on a developer's machine. (hookpipe bench has its own,
// leaner receiver in package bench.)
//
// It accepts DT-style webhook requests (POST, JSON body), verifies the
// X-Dt-Signature with package pipeline/signature when given a secret, can
// inject failures (a share of 503 answers) and latency to exercise hookpipe's
// retries and concurrency, prints one readable line per request, and keeps
// counters that tests read (Stats). It is a tool, not part of the
// delivery path: its output is serialised with a mutex and it favours
// readable output over speed.
//
// The caller owns the http.Server: set ReadHeaderTimeout and call Shutdown
// with a deadline, as for any server.
package devreceiver
