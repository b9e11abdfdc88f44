package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/config"

	"github.com/hookpipe/hookpipe/stages/replay"
)

func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stdout, stderr)
	f := replayFlagSet(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, err := f.kafka.config()
	if err != nil {
		return err
	}
	if f.name == "" {
		return errors.New("replay: --connector is required")
	}
	sel, err := selection(f.since, f.until, f.types, time.Now())
	if err != nil {
		return err
	}
	if err := knownConnector(f.dir, f.name); err != nil {
		return err
	}
	if len(kc.Brokers) == 0 {
		return errors.New("replay: no --brokers and no KAFKA_BROKERS")
	}
	if err := kc.Preflight(ctx); err != nil {
		return err
	}
	topics := f.kafka.topics()
	res, err := replay.Replay(ctx, replay.Config{Connector: f.name, Topics: topics, Kafka: kc, Selection: sel, DryRun: f.dry})
	fmt.Fprintln(stdout, describeReplay(res, topics.DLQ(f.name), topics.Connector(f.name)))
	return err
}

// replayFlags are the flags of 'hookpipe replay'.
type replayFlags struct {
	name, dir    string
	since, until string
	types        listFlag
	dry          bool
	kafka        *kafkaFlags
}

func replayFlagSet(fs *flag.FlagSet) *replayFlags {
	f := &replayFlags{}
	fs.StringVar(&f.name, "connector", "", "`NAME` of the connector whose dead letters are sent again (required)")
	fs.StringVar(&f.dir, "connectors", "./connectors.d", "read every connector file (*.hcl) in `DIR`")
	fs.StringVar(&f.since, "since", "", "only events ingested at or after `T`: RFC 3339 (2026-11-25T10:00:00Z) or a duration ago (6h)")
	fs.StringVar(&f.until, "until", "", "only events ingested before `T`, in the same forms as --since")
	fs.Var(&f.types, "event-type", "only events of `TYPE`; repeat it or separate types with commas")
	fs.BoolVar(&f.dry, "dry-run", false, "count what would be replayed, per event type, and write nothing")
	f.kafka = bindKafka(fs, brokersHelp)
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

// selection builds the replay selection from the flags' values.
func selection(since, until string, types []string, now time.Time) (replay.Selection, error) {
	sel := replay.Selection{EventTypes: types}
	var err error
	if since != "" {
		if sel.Since, err = replay.ParseTime(since, now); err != nil {
			return sel, fmt.Errorf("replay: --since: %w", err)
		}
	}
	if until != "" {
		if sel.Until, err = replay.ParseTime(until, now); err != nil {
			return sel, fmt.Errorf("replay: --until: %w", err)
		}
	}
	if err := sel.Check(); err != nil {
		return sel, fmt.Errorf("replay: %w", err)
	}
	return sel, nil
}

// describeReplay is the one line a replay prints: how many, from where to
// where, per event type, and how many were left out.
func describeReplay(res replay.Result, from, to string) string {
	verb := "replayed"
	if res.DryRun {
		verb = "would replay"
	}
	line := fmt.Sprintf("%s %d dead letter(s) from %s to %s", verb, res.Replayed, from, to)
	if len(res.ByType) > 0 {
		keys := make([]string, 0, len(res.ByType))
		for k := range res.ByType {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			keys[i] = fmt.Sprintf("%s %d", k, res.ByType[k])
		}
		line += ": " + strings.Join(keys, ", ")
	}
	if res.Skipped > 0 {
		line += fmt.Sprintf(" (%d not selected)", res.Skipped)
	}
	if res.DryRun {
		line += "; dry run, nothing written"
	}
	return line
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}
