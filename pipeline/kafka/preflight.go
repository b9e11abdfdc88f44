package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// PreflightTimeout bounds the connection check of each seed broker.
const PreflightTimeout = 10 * time.Second

// preflightTimeout is PreflightTimeout and probeTimeout bounds each probe
// that tells TLS from plaintext; tests shorten both.
var preflightTimeout, probeTimeout = PreflightTimeout, 3 * time.Second

const tlsToPlaintext = "TLS client against a plaintext listener: the broker does not speak TLS on this port (use its TLS port, or drop --kafka-tls)"

// ConnectKind says why a connection to Kafka failed.
type ConnectKind int

// The kinds of connection failure Preflight tells apart.
const (
	// Unreachable: the address does not answer (refused, no route, DNS).
	Unreachable ConnectKind = iota
	// NoAnswer: the broker accepted the connection but did not answer in
	// time.
	NoAnswer
	// SASLFailed: the broker rejected the SASL credentials (or, for a
	// broker that just closes the connection then, probably did).
	SASLFailed
	// SASLMismatch: the listener does not offer the configured mechanism,
	// or does not do SASL at all.
	SASLMismatch
	// SASLRequired: the broker closed a connection that had no SASL.
	SASLRequired
	// UntrustedCertificate: the broker's certificate did not verify.
	UntrustedCertificate
	// TLSRefused: the broker ended the TLS handshake with an alert, for
	// example because it requires a client certificate.
	TLSRefused
	// PlaintextToTLS: a client without TLS reached a TLS listener.
	PlaintextToTLS
	// TLSToPlaintext: a TLS client reached a plaintext listener.
	TLSToPlaintext
	// Other: any other failure.
	Other
)

// ConnectError is a classified failure to talk to a broker. Its message
// is one line that names the broker and the cause; it never contains a
// credential.
type ConnectError struct {
	// Kind says what went wrong.
	Kind ConnectKind
	// Broker is the address that failed.
	Broker string
	// What says what went wrong and what to change.
	What string
	// Err is the underlying error.
	Err error
}

// Error is one line: the broker, what went wrong, and the underlying error
// unless a probe confirmed the cause.
func (e *ConnectError) Error() string {
	if e.Kind == PlaintextToTLS || e.Kind == TLSToPlaintext {
		return fmt.Sprintf("kafka %s: %s", e.Broker, e.What) // a probe confirmed it; kgo's guess would only confuse
	}
	return fmt.Sprintf("kafka %s: %s (%v)", e.Broker, e.What, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConnectError) Unwrap() error { return e.Err }

// Preflight connects to each seed broker in turn with k's security
// settings, authenticates and asks for metadata, each attempt bounded by
// PreflightTimeout and not retried. It returns nil as soon as one broker
// answers, else a *ConnectError for the first broker that failed.
// Processes call it before any stage starts, so that a wrong password or
// certificate is one clear line and not a storm of retries.
func (k Config) Preflight(ctx context.Context) error {
	q := k
	q.Logger = nil // the classified error says it; kgo's own warnings would repeat it
	cl, err := q.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	var first error
	var firstAddr string
	for i, b := range cl.SeedBrokers() {
		err := ping(ctx, b)
		if err == nil {
			return nil
		}
		if first == nil && i < len(k.Brokers) {
			first, firstAddr = err, k.Brokers[i]
		}
	}
	if first == nil {
		return errors.New("kafka: no seed broker to check")
	}
	return k.classify(ctx, firstAddr, first)
}

// ping sends one metadata request for no topics to b.
func ping(ctx context.Context, b *kgo.Broker) error {
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	_, err := b.Request(ctx, req)
	return err
}

// classify turns err, from talking to addr, into a *ConnectError. When the
// broker just closed the connection it probes addr once more, with and
// without TLS, to tell which side speaks TLS.
func (k Config) classify(ctx context.Context, addr string, err error) error {
	sec := k.Security
	e := &ConnectError{Kind: Other, Broker: addr, Err: err, What: "cannot talk to the broker"}
	var (
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalid    x509.CertificateInvalidError
		alert      tls.AlertError
		recordErr  tls.RecordHeaderError
		netOpError *net.OpError
	)
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		e.Kind, e.What = SASLFailed, fmt.Sprintf("SASL authentication failed: the broker rejected the %s", credentials(sec))
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		e.Kind, e.What = SASLMismatch, fmt.Sprintf("the listener does not offer SASL %s (check --kafka-sasl-mechanism and that this is the broker's SASL port)", sec.SASLMechanism)
	case errors.As(err, &unknownCA), errors.As(err, &invalid):
		e.Kind, e.What = UntrustedCertificate, "the broker's TLS certificate is not trusted: it does not verify against "+caSource(sec)
	case errors.As(err, &hostErr):
		e.Kind, e.What = UntrustedCertificate, "the broker's TLS certificate does not name the host in --brokers"
	case errors.As(err, &alert), strings.Contains(err.Error(), "remote error: tls: "):
		e.Kind, e.What = TLSRefused, "the broker refused the TLS handshake; it may require a client certificate (--kafka-cert-file, --kafka-key-file) or one signed by a CA it trusts"
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.What = NoAnswer, fmt.Sprintf("no answer within %s", preflightTimeout)
		if sec.TLSOn() && speaksPlaintext(ctx, addr) {
			e.Kind, e.What = TLSToPlaintext, tlsToPlaintext
		}
	case errors.As(err, &recordErr), closedEarly(err):
		var eof *kgo.ErrFirstReadEOF
		if errors.As(err, &eof) && eof.Unwrap() != nil {
			e.Err = eof.Unwrap() // kgo's guess is replaced by the probes' answer
		}
		k.classifyClosed(ctx, e, false)
	case strings.Contains(err.Error(), "invalid large response size"): // kgo's words for an answer that is not Kafka's
		k.classifyClosed(ctx, e, true)
	case errors.As(err, &netOpError) && netOpError.Op == "dial":
		e.Kind, e.What = Unreachable, "cannot connect"
	}
	return e
}

// classifyClosed explains a connection the broker closed early, or
// answered with something that is not a Kafka response (garbled).
func (k Config) classifyClosed(ctx context.Context, e *ConnectError, garbled bool) {
	sec := k.Security
	switch {
	case sec.TLSOn() && speaksPlaintext(ctx, e.Broker):
		e.Kind, e.What = TLSToPlaintext, tlsToPlaintext
	case !sec.TLSOn() && speaksTLS(ctx, e.Broker):
		e.Kind, e.What = PlaintextToTLS, "plaintext client against a TLS listener: set --kafka-tls (and --kafka-ca-file unless the system trusts the broker's CA)"
	case garbled:
		e.What = "the port does not answer like a Kafka broker (check --brokers)"
	case sec.SASLMechanism == "":
		e.Kind, e.What = SASLRequired, "the broker closed the connection; the listener probably requires SASL (set --kafka-sasl-mechanism)"
	default:
		e.Kind, e.What = SASLFailed, "the broker closed the connection during SASL authentication: it probably rejected the "+credentials(sec)
	}
}

// closedEarly reports whether err is the broker closing or resetting the
// connection.
func closedEarly(err error) bool {
	var eof *kgo.ErrFirstReadEOF
	return errors.As(err, &eof) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// speaksTLS reports whether addr completes a TLS handshake. The probe
// skips verification because it only asks whether the port speaks TLS;
// it sends no Kafka request and no credential, and closes at once.
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // a probe only, see above
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// speaksPlaintext reports whether addr answers an ApiVersions request
// without TLS; the request carries no credential.
func speaksPlaintext(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return false
	}
	defer cl.Close()
	seeds := cl.SeedBrokers()
	if len(seeds) == 0 {
		return false
	}
	_, err = seeds[0].Request(ctx, kmsg.NewPtrApiVersionsRequest())
	return err == nil
}

func credentials(s Security) string {
	if s.SASLMechanism == MechanismOAuthBearer {
		return "OAUTHBEARER token"
	}
	return fmt.Sprintf("%s user %q or its password", s.SASLMechanism, s.SASLUser)
}

func caSource(s Security) string {
	if s.CAFile != "" {
		return "--kafka-ca-file " + s.CAFile
	}
	return "the system's trusted CAs (set --kafka-ca-file)"
}
