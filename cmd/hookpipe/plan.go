package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/config"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages"
	"github.com/hookpipe/hookpipe/stages/plan"
)

func cmdPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stdout, stderr)
	dir := fs.String("connectors", "./connectors.d", "plan the connector files (*.hcl) in `DIR`")
	api := fs.String("api", "", "`URL` of a running hookpipe's API, to compare with the config in force (e.g. http://127.0.0.1:8080)")
	sample := fs.Int("events", 10000, "count new and changed filters over the latest `N` events of <p>.events")
	kf := bindKafka(fs.FlagSet, "Kafka seed brokers, a comma-separated `LIST` of host:port, to plan topics and count routing (default $KAFKA_BROKERS)")
	if err := parse(fs, args); err != nil {
		return err
	}
	kc, err := kf.config()
	if err != nil {
		return err
	}
	seeds := kc.Brokers
	if *api == "" && len(seeds) == 0 {
		return errors.New("plan: give --api URL, --brokers LIST (or KAFKA_BROKERS), or both")
	}
	if *sample < 1 {
		return fmt.Errorf("plan: --events %d: want at least 1", *sample)
	}
	next, diags := config.LoadConnectors(*dir, os.LookupEnv)
	if diags.HasErrors() {
		fmt.Fprint(stderr, config.FormatDiagnostics(diags))
		return fmt.Errorf("plan: %s has errors; nothing to plan", *dir)
	}
	topics := kf.topics()
	rep := &plan.Report{Dir: *dir, NextHash: config.Hash(next), API: *api, NoKafka: len(seeds) == 0, EventsTopic: topics.Events()}
	if *api != "" {
		cur, err := fetchConfig(ctx, *api)
		if err != nil {
			return err
		}
		rep.Current = cur
		rep.Changes = plan.Connectors(cur.Connectors, next)
	}
	if len(seeds) > 0 {
		if err := kc.Preflight(ctx); err != nil {
			return err
		}
		if err := planKafka(ctx, rep, kc, topics, next, *sample); err != nil {
			return err
		}
	}
	rep.Write(stdout)
	return nil
}

// planKafka adds the topics, the changes inferred from topics when no API
// was given, and the routing counts.
func planKafka(ctx context.Context, rep *plan.Report, kc kafka.Config, topics pipeline.Topics, next []*pipeline.Connector, n int) error {
	cl, err := kc.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if rep.Topics, err = plan.Topics(ctx, adm, topics.Specs(next)); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	if rep.Current == nil {
		if rep.Changes, err = plan.FromTopics(ctx, adm, topics, next); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
	}
	if rep.Sample, err = plan.SampleEvents(ctx, kc, topics.Events(), n, time.Minute); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	rep.AddRoutes(next)
	return nil
}

// fetchConfig reads GET <api>/v1/config.
func fetchConfig(ctx context.Context, api string) (*stages.ConfigView, error) {
	url := strings.TrimSuffix(api, "/") + "/v1/config"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("plan: --api: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("plan: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("plan: GET %s answered %s (is it hookpipe with GET /v1/config?)", url, resp.Status)
	}
	var v stages.ConfigView
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&v); err != nil {
		return nil, fmt.Errorf("plan: GET %s: %w", url, err)
	}
	return &v, nil
}
