package kafka

import (
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

// NewClient returns a client for the configured brokers with opts added.
// Producers created here require acks from all in-sync replicas and are
// idempotent (kgo's defaults), and retry until the record's context ends.
// Every client uses k.Security; a CA, certificate or key file that cannot
// be read is an error here.
func (k Config) NewClient(opts ...kgo.Opt) (*kgo.Client, error) {
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
	if k.Logger != nil {
		base = append(base, kgo.WithLogger(kslog{k.Logger}))
	}
	sec, err := k.Security.Opts()
	if err != nil {
		return nil, err
	}
	base = append(base, sec...)
	base = append(base, k.Extra...)
	return kgo.NewClient(append(base, opts...)...)
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
