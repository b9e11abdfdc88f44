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
//	hookpipe plan      [flags]   show what applying a connectors directory would change
//	hookpipe sync      [flags]   send a connector the latest event of each type of every recent device
//	hookpipe connectors list|disable NAME|enable NAME [--api URL]
//	hookpipe version             (also --version, -v)
//	hookpipe help [command]      (also --help, -h; 'hookpipe <command> --help')
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
		return cmdRun(ctx, args[1:], stdout, stderr)
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
	case "plan":
		return cmdPlan(ctx, args[1:], stdout, stderr)
	case "sync":
		return cmdSync(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version", "-v":
		fmt.Fprintln(stdout, "hookpipe", version)
		return nil
	case "help", "-h", "-help", "--help":
		return help(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "hookpipe: unknown command %q\n", args[0])
	usage(stderr)
	return errUsage
}

// help prints the usage, or with a command's name that command's flags,
// to stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0:
		usage(stdout)
		return nil
	case len(args) > 1:
		fmt.Fprintf(stderr, "hookpipe help: one command at most, got %q\n", args)
		return errUsage
	}
	switch args[0] {
	case "run", "validate", "receive", "replay", "bench":
		return run(ctx, []string{args[0], "--help"}, stdout, stderr)
	case "version", "help":
		usage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "hookpipe help: unknown command %q\n", args[0])
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
  plan       show what applying a connectors directory would change
  sync       send a connector the latest event of each type of every recent device
  connectors list connectors' states, or disable or enable one, through a process's API
  version    print the version (also --version, -v)
  help       print this, or a command's flags: hookpipe help run

Run 'hookpipe help <command>' or 'hookpipe <command> --help' for a command's flags.
`)
}

// flagSet is a command's flags: asked for with -h or --help, its usage
// goes to stdout; errors and the usage after them go to stderr.
type flagSet struct {
	*flag.FlagSet
	stdout io.Writer
}

// newFlagSet returns the flag set of the command name.
func newFlagSet(name string, stdout, stderr io.Writer) *flagSet {
	fs := flag.NewFlagSet("hookpipe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse prints the usage, to the right stream
	return &flagSet{FlagSet: fs, stdout: stdout}
}

// parse parses args; -h or --help prints the usage to stdout and gives
// errHelp, a bad flag or argument gives errUsage after the usage on stderr.
func parse(fs *flagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage(fs.stdout)
		return errHelp
	case err != nil: // the flag package printed the error
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
	default:
		return nil
	}
	fs.printUsage(fs.Output())
	return errUsage
}

// printUsage writes the command's flags to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s [flags]\n\nflags:\n", fs.Name())
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
