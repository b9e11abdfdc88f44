package kafka

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says how to reach Kafka. It is copied freely.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// ClientID names the process's clients to the brokers. Default
	// "hookpipe".
	ClientID string
	// InstanceID, when set, makes this process a static member of its
	// consumer groups: restarted with the same id it takes back its
	// partitions at once instead of after the dead member's session
	// times out; stopped, it keeps them for the session timeout (10s).
	// Each process needs its own id (a StatefulSet's pod name, say).
	InstanceID string
	// Logger, when set, receives kgo's warnings and errors.
	Logger *slog.Logger
	// Security is the TLS and SASL every client uses.
	Security Security
	// Extra options are added to every client (tests use it to tune
	// timeouts).
	Extra []kgo.Opt
}

// TransactionalID returns the transactional id of role (such as
// "hookpipe.ingest") for this process: role and InstanceID, stable across
// restarts, so that a restarted process fences and aborts what its
// predecessor left open; role and a random suffix without an InstanceID.
func (k Config) TransactionalID(role string) string {
	if k.InstanceID != "" {
		return role + "." + k.InstanceID
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return role + ".run-" + hex.EncodeToString(b[:])
}

// NewClient returns a client for the configured brokers with opts added.
// Producers created here require acks from all in-sync replicas and are
// idempotent (kgo's defaults), and retry until the record's context ends.
// Every client uses k.Security; a CA, certificate or key file that cannot
// be read is an error here.
func (k Config) NewClient(opts ...kgo.Opt) (*kgo.Client, error) {
	all, err := k.Options(opts...)
	if err != nil {
		return nil, err
	}
	return kgo.NewClient(all...)
}

// Options returns the options NewClient uses, with opts added, for
// constructors that take options (kgo.NewGroupTransactSession).
func (k Config) Options(opts ...kgo.Opt) ([]kgo.Opt, error) {
	if len(k.Brokers) == 0 {
		return nil, fmt.Errorf("no Kafka brokers configured")
	}
	id := k.ClientID
	if id == "" {
		id = "hookpipe"
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(id),
		kgo.ProducerLinger(0),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}
	watch := txnWatch{}
	if k.Logger != nil {
		watch.inner = kslog{k.Logger}
	}
	base = append(base, kgo.WithLogger(watch))
	sec, err := k.Security.Opts()
	if err != nil {
		return nil, err
	}
	base = append(base, sec...)
	base = append(base, k.Extra...)
	return append(base, opts...), nil
}

// kslog adapts slog to kgo's Logger, passing on warnings and errors.
type kslog struct{ l *slog.Logger }

func (k kslog) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k kslog) Log(level kgo.LogLevel, msg string, kv ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Error(msg, kv...)
	case kgo.LogLevelWarn:
		k.l.Warn(msg, kv...)
	}
}
