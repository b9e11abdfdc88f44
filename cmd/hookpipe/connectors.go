package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// connectorRow is the part of GET /v1/connectors that the list prints.
type connectorRow struct {
	Name             string `json:"name"`
	State            string `json:"state"`
	ReopensAt        string `json:"reopensAt"`
	Until            string `json:"until"`
	Reason           string `json:"reason"`
	OldestPendingAge string `json:"oldestPendingAge"`
	ExpiresIn        string `json:"expiresIn"`
}

// cmdConnectors is `hookpipe connectors list|disable|enable [NAME] --api URL`.
func cmdConnectors(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("connectors", stdout, stderr)
	api := fs.String("api", "http://127.0.0.1:8080", "`URL` of a hookpipe process's HTTP API")
	token := fs.String("token", os.Getenv("HOOKPIPE_INGEST_TOKEN"), "bearer `token` for disable and enable (default $HOOKPIPE_INGEST_TOKEN)")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "usage: hookpipe connectors list|disable NAME|enable NAME [--api URL] [--token T]\n\nflags:")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	pos, err := parseInterleaved(fs.FlagSet, args)
	if errors.Is(err, errHelp) {
		usage(stdout)
	}
	if err != nil {
		return err
	}
	verb := ""
	if len(pos) > 0 {
		verb = pos[0]
	}
	switch {
	case verb == "list" && len(pos) == 1:
		return listConnectors(ctx, strings.TrimRight(*api, "/"), stdout)
	case (verb == "disable" || verb == "enable") && len(pos) == 2:
		return setConnector(ctx, strings.TrimRight(*api, "/"), *token, pos[1], verb, stdout)
	}
	usage(stderr)
	return errUsage
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func listConnectors(ctx context.Context, api string, stdout io.Writer) error {
	var out struct {
		Connectors []connectorRow `json:"connectors"`
	}
	if err := call(ctx, http.MethodGet, api+"/v1/connectors", "", &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tOLDEST PENDING\tEXPIRES IN\tDETAIL")
	for _, c := range out.Connectors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.State, c.OldestPendingAge, c.ExpiresIn, c.detail())
	}
	return tw.Flush()
}

func (c connectorRow) detail() string {
	switch {
	case c.ReopensAt != "":
		return "reopens at " + c.ReopensAt
	case c.Until != "":
		return "until " + c.Until
	}
	return c.Reason
}

func setConnector(ctx context.Context, api, token, name, verb string, stdout io.Writer) error {
	var row connectorRow
	if err := call(ctx, http.MethodPost, api+"/v1/connectors/"+name+":"+verb, token, &row); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", row.Name, row.State)
	return nil
}

// call does one API request and decodes its JSON answer into out; an
// answer other than 200 is an error carrying the API's message.
func call(ctx context.Context, method, url, token string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return fmt.Errorf("--api: %w", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, e.Error)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, url, err)
	}
	return nil
}
