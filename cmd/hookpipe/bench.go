package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hookpipe/hookpipe/bench"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// benchFlags are the flags of 'hookpipe bench'.
type benchFlags struct {
	brokers, scenarios, jsonPath, profileDir string
	quick, tls                               bool
	partitions, maxInFlightTotal             int
	sizes                                    bench.Sizes
	security                                 *securityFlags
}

func (f *benchFlags) register(fs *flag.FlagSet) {
	s := &f.sizes
	fs.StringVar(&f.brokers, "brokers", "", "real Kafka seed brokers, a comma-separated `LIST` (default: an embedded kfake broker in the bench process)")
	fs.StringVar(&f.scenarios, "scenarios", "", "the scenarios to run, a comma-separated `LIST` (default all: "+strings.Join(bench.ScenarioNames(), ",")+")")
	fs.BoolVar(&f.quick, "quick", false, "small sizes: the whole run in under a minute")
	fs.BoolVar(&f.tls, "tls", false, "receivers serve HTTPS with a CA made for the run (connectors trust it by tls.ca_file); ceiling, throughput, latency and slow run over HTTP/1.1 and HTTP/2")
	fs.StringVar(&f.jsonPath, "json", "", "also write every result as JSON to `FILE`")
	fs.StringVar(&f.profileDir, "cpuprofile-dir", "", "make every pipeline process write CPU and heap profiles into `DIR`")
	fs.IntVar(&f.partitions, "partitions", 12, "`N` partitions for the pipeline's topics")
	fs.IntVar(&f.maxInFlightTotal, "max-in-flight-total", 0, "the pipeline's --max-in-flight-total `N` (default: the pipeline's, 1024 or the largest max_in_flight)")
	fs.IntVar(&s.Events, "events", 0, "`N` events for ceiling, throughput (default 200000; quick 20000)")
	fs.IntVar(&s.Batch, "batch", 0, "`N` events per ingest request (default 100)")
	fs.IntVar(&s.Posters, "posters", 0, "`N` concurrent ingest requests (default 8)")
	fs.IntVar(&s.MaxInFlight, "max-in-flight", 0, "`N`: the connectors' max_in_flight and the ceiling's concurrency (default 1000)")
	fs.Float64Var(&s.Rate, "rate", 0, "latency scenario: `R` events per second (default 1000)")
	fs.DurationVar(&s.Duration, "duration", 0, "latency scenario: send for `D` (default 20s; quick 4s)")
	fs.IntVar(&s.RateBatch, "rate-batch", 0, "latency scenario: `N` events per request (default 10)")
	fs.DurationVar(&s.SlowLatency, "slow-latency", 0, "slow scenario: the endpoint answers after `D` (default 250ms)")
	fs.IntVar(&s.SlowEvents, "slow-events", 0, "slow scenario: `N` events with the full in-flight bound (default 40000; quick 12000)")
	fs.DurationVar(&s.SequentialFor, "sequential-for", 0, "slow scenario: the sequential baseline runs for about `D` (default 10s; quick 3s)")
	fs.IntVar(&s.IsolationEvents, "isolation-events", 0, "isolation scenario: `N` events per run (default 100000; quick 20000)")
	fs.IntVar(&s.BacklogEvents, "backlog-events", 0, "backlog scenario: `N` events queued (default 1000000; quick 50000)")
	fs.DurationVar(&s.Outage, "outage", 0, "amplification scenario: how long the endpoint is down while events arrive at --rate (default 60s; quick 10s)")
	fs.Func("connectors-count", "connectors scenario: a comma-separated `LIST` of connector counts (default 1,10,100,1000; quick 1,10,100)", func(v string) error {
		for _, part := range splitList(v) {
			n, err := strconv.Atoi(part)
			if err != nil {
				return fmt.Errorf("connector count %q: want a whole number", part)
			}
			s.ConnectorCounts = append(s.ConnectorCounts, n)
		}
		return nil
	})
	fs.IntVar(&s.ConnectorDeliveries, "connectors-deliveries", 0, "connectors scenario: `N` deliveries per run, spread over its connectors (default 120000; quick 30000)")
	f.security = bindKafkaSecurity(fs)
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f benchFlags
	fs := newFlagSet("bench", stdout, stderr)
	f.register(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	sec, err := f.security.security()
	if err != nil {
		return err
	}
	if sec != (kafka.Security{}) && len(splitList(f.brokers)) == 0 {
		return errors.New("the --kafka-* TLS and SASL settings apply to --brokers; the embedded broker is plaintext")
	}
	if f.partitions < 1 || f.partitions > 10000 {
		return fmt.Errorf("--partitions %d: want 1 to 10000", f.partitions)
	}
	if f.maxInFlightTotal < 0 {
		return fmt.Errorf("--max-in-flight-total %d: want 0 (the pipeline's default) or more", f.maxInFlightTotal)
	}
	if f.profileDir != "" {
		if err := os.MkdirAll(f.profileDir, 0o755); err != nil {
			return fmt.Errorf("--cpuprofile-dir: %w", err)
		}
	}
	results, err := bench.Run(ctx, bench.Options{
		Brokers: splitList(f.brokers), Security: sec, Scenarios: splitList(f.scenarios), Quick: f.quick, TLS: f.tls,
		Sizes: f.sizes, Partitions: f.partitions, ProfileDir: f.profileDir, MaxInFlightTotal: f.maxInFlightTotal,
		Version: version, Progress: stderr,
	})
	if len(results) > 0 {
		fmt.Fprintln(stdout)
		if werr := bench.WriteTable(stdout, results); werr != nil {
			return werr
		}
		if f.jsonPath != "" {
			if werr := bench.WriteJSON(f.jsonPath, results); werr != nil {
				return werr
			}
		}
	}
	return err
}
