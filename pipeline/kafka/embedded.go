package kafka

import (
	"fmt"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// EmbeddedConfig configures the development broker.
type EmbeddedConfig struct {
	// Listen is host:port to listen on. Default 127.0.0.1:9092.
	Listen string
	// DataDir persists topics, offsets and groups across restarts.
	// Empty keeps everything in memory.
	DataDir string
	// CleanerBackoffMs is how often retention is enforced, in
	// milliseconds. Default 60000.
	CleanerBackoffMs int
}

// StartEmbedded starts kfake, an in-process Kafka-protocol broker, for
// development and tests: one broker, persisted under DataDir, that enforces
// retention.ms every CleanerBackoffMs. It is not for production: it is a
// single process with no replication. Close the returned cluster to stop
// it; its address is ListenAddrs()[0].
func StartEmbedded(cfg EmbeddedConfig) (*kfake.Cluster, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:9092"
	}
	if cfg.CleanerBackoffMs <= 0 {
		cfg.CleanerBackoffMs = 60000
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded broker listen address %q: bad port", cfg.Listen)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		}),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.Itoa(cfg.CleanerBackoffMs),
		}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	return c, nil
}
