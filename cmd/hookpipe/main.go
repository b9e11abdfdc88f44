// Command hookpipe is the Data Connector pipeline on Kafka: it ingests
// sensor events over HTTP and delivers each as a signed webhook to every
// connector that wants it, at least once, for 12 hours.
//
// Usage:
//
//	hookpipe run       [flags]   run the pipeline (all stages by default)
//	hookpipe validate  [flags]   check connectors.d and print every error
//	hookpipe receive   [flags]   a development webhook receiver
//	hookpipe replay    [flags]   send a connector's dead letters again
//	hookpipe bench     [flags]   measure the pipeline on this machine
//	hookpipe connectors list|disable NAME|enable NAME [--api URL]
//	hookpipe version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks an error already explained to the user; exit code 2.
var errUsage = errors.New("usage")

// errHelp ends a command after its flags' help was printed; exit code 0.
var errHelp = errors.New("help")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "hookpipe:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "receive":
		return cmdReceive(ctx, args[1:], stdout, stderr)
	case "replay":
		return cmdReplay(ctx, args[1:], stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "connectors":
		return cmdConnectors(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "hookpipe", version)
		return nil
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "hookpipe: unknown command %q\n", args[0])
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: hookpipe <command> [flags]

commands:
  run        run the pipeline: ingest API, fanout, deliver and retry stages
  validate   check the connector files and print every error
  receive    run a development webhook receiver that verifies signatures
  replay     send a connector's dead letters again, with a fresh max_age window
  bench      measure throughput, latency, isolation and backlog drain on this machine
  connectors list connectors' states, or disable or enable one, through a process's API
  version    print the version

Run 'hookpipe <command> -h' for a command's flags.
`)
}

// newFlagSet returns a flag set that reports errors to stderr.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hookpipe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args; -h gives errHelp, a bad flag errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
