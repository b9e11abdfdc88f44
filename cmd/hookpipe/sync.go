package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/stages/latest"
)

func cmdSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sync", stdout, stderr)
	name := fs.String("connector", "", "`NAME` of the connector to send the latest events to (required)")
	dir := fs.String("connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	window := fs.Duration("window", latest.DefaultWindow, "send the latest events of devices seen within `D`")
	kf := bindKafka(fs.FlagSet, brokersHelp)
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, err := kf.config()
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("sync: --connector is required")
	}
	if *window <= 0 {
		return fmt.Errorf("sync: --window %s: want a positive duration", *window)
	}
	conns, diags := config.LoadConnectors(*dir, os.LookupEnv)
	if diags.HasErrors() {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
		return fmt.Errorf("sync: %s has errors", *dir)
	}
	var conn *pipeline.Connector
	for _, c := range conns {
		if c.Name == *name {
			conn = c
		}
	}
	if conn == nil {
		return knownConnector(*dir, *name) // names the connectors there
	}
	if len(kc.Brokers) == 0 {
		return errors.New("sync: no --brokers and no KAFKA_BROKERS")
	}
	topics := kf.topics()
	if err := kc.Preflight(ctx); err != nil {
		return err
	}
	n, err := latest.Sync(ctx, kc, topics, conn, *window, time.Now())
	fmt.Fprintf(stdout, "queued %d event(s) from %s to %s\n", n, topics.Latest(), topics.Connector(*name))
	return err
}
