package main

import (
	"context"
	"errors"
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
	name := fs.String("connector", "", "`NAME` of the connector whose dead letters are sent again (required)")
	dir := fs.String("connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	brokers := fs.String("brokers", os.Getenv("KAFKA_BROKERS"), "Kafka seed brokers, a comma-separated `LIST` of host:port (default $KAFKA_BROKERS; the embedded broker of 'hookpipe run' is 127.0.0.1:9092)")
	prefix := fs.String("topic-prefix", "hookpipe", "topic and consumer group names start with `P`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("replay: --connector is required")
	}
	if err := knownConnector(*dir, *name); err != nil {
		return err
	}
	seeds := splitList(*brokers)
	if len(seeds) == 0 {
		return errors.New("replay: no --brokers and no KAFKA_BROKERS")
	}
	topics := pipeline.Topics{Prefix: *prefix}
	n, err := replay.Run(ctx, replay.Config{Connector: *name, Topics: topics, Kafka: kafka.Config{Brokers: seeds}})
	fmt.Fprintf(stdout, "replayed %d dead letter(s) from %s to %s\n", n, topics.DLQ(*name), topics.Connector(*name))
	return err
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
