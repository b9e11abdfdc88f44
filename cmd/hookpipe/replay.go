package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages/replay"
)

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stdout, stderr)
	f := replayFlagSet(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	sec, err := f.security.security()
	if err != nil {
		return err
	}
	if f.name == "" {
		return errors.New("replay: --connector is required")
	}
	if err := knownConnector(f.dir, f.name); err != nil {
		return err
	}
	seeds := splitList(f.brokers)
	if len(seeds) == 0 {
		return errors.New("replay: no --brokers and no KAFKA_BROKERS")
	}
	kc := kafka.Config{Brokers: seeds, Security: sec}
	if err := kc.Preflight(ctx); err != nil {
		return err
	}
	topics := pipeline.Topics{Prefix: f.prefix}
	n, err := replay.Run(ctx, replay.Config{Connector: f.name, Topics: topics, Kafka: kc})
	fmt.Fprintf(stdout, "replayed %d dead letter(s) from %s to %s\n", n, topics.DLQ(f.name), topics.Connector(f.name))
	return err
}

// replayFlags are the flags of 'hookpipe replay'.
type replayFlags struct {
	name, dir, brokers, prefix string
	security                   *securityFlags
}

func replayFlagSet(fs *flag.FlagSet) *replayFlags {
	f := &replayFlags{}
	fs.StringVar(&f.name, "connector", "", "`NAME` of the connector whose dead letters are sent again (required)")
	fs.StringVar(&f.dir, "connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	fs.StringVar(&f.brokers, "brokers", os.Getenv("KAFKA_BROKERS"), "Kafka seed brokers, a comma-separated `LIST` of host:port (default $KAFKA_BROKERS; the embedded broker of 'hookpipe run' is 127.0.0.1:9092)")
	fs.StringVar(&f.prefix, "topic-prefix", "hookpipe", "topic and consumer group names start with `P`")
	f.security = bindKafkaSecurity(fs)
	return f
}

// knownConnector fails unless dir's connectors load and include name.
func knownConnector(dir, name string) error {
	conns, diags := config.LoadConnectors(dir, os.LookupEnv)
	if diags.HasErrors() {
		return fmt.Errorf("%s:\n%s", dir, strings.TrimSpace(config.FormatDiagnostics(diags)))
	}
	var names []string
	for _, c := range conns {
		if c.Name == name {
			return nil
		}
		names = append(names, c.Name)
	}
	return fmt.Errorf("replay: no connector %q in %s (connectors: %s)", name, dir, strings.Join(names, ", "))
}
