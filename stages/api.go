package stages

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/deliver/health"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// APIConfig configures the HTTP API served on --listen.
type APIConfig struct {
	// Connectors are shown by /v1/connectors.
	Connectors []*pipeline.Connector
	// Metrics are served on /metrics and feed the connector metrics.
	Metrics *metrics.Metrics
	// Ingest serves POST /v1/events; nil when this process runs no ingest
	// stage (then /v1/events answers 404).
	Ingest http.Handler
	// Ready reports why the process is not ready, or nil when it is.
	Ready func(ctx context.Context) error
	// Stages returns each stage's state by name, for /readyz?verbose.
	// Nil shows none.
	Stages func() map[string]string
	// StageReady reports why one stage is not ready, or nil when it is,
	// for /readyz?stage=NAME. Nil answers 404 to that form.
	StageReady func(ctx context.Context, stage string) error
	// Health, when set, gives each connector's state and time to loss,
	// and serves POST /v1/connectors/{name}:disable and :enable.
	Health *health.Health
	// Token, when set, is required as a bearer token on the POST routes
	// (the ingest token).
	Token string
	// Actions serves POST /v1/connectors/{name}:replay and :sync (see
	// NewActions); nil answers them 404.
	Actions http.Handler
	// LoadedAt is when Connectors were loaded, for GET /v1/config.
	LoadedAt time.Time
	// Live, when set, holds the connectors in force (a reload changes
	// them); Connectors and LoadedAt are then ignored.
	Live *Live
}

// connectors returns the connectors in force.
func (cfg APIConfig) connectors() []*pipeline.Connector {
	if cfg.Live != nil {
		return cfg.Live.Connectors()
	}
	return cfg.Connectors
}

// NewAPI returns the HTTP API: POST /v1/events, GET /v1/connectors,
// GET /v1/connectors/{name}, GET /metrics, GET /healthz and GET /readyz.
// /readyz is the whole process's readiness (200 or 503 with a reason);
// /readyz?stage=ingest is one stage's (a load balancer in front of ingest
// routes on it: ingest does not wait for any consumer group); ?verbose adds
// "stages", each stage's state.
// Secrets (signature secrets, header values) are never part of an answer.
// Every error is JSON {"error":"..."}, an unknown path (404) or method
// (405, with Allow) included.
func NewAPI(cfg APIConfig) http.Handler {
	mux := http.NewServeMux()
	if cfg.Ingest != nil {
		mux.Handle("/v1/events", cfg.Ingest)
	} else {
		mux.HandleFunc("/v1/events", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "this process runs no ingest stage (see --stages)"})
		})
	}
	mux.HandleFunc("GET /v1/connectors", func(w http.ResponseWriter, _ *http.Request) {
		conns := cfg.connectors()
		list := make([]ConnectorView, 0, len(conns))
		for _, c := range conns {
			list = append(list, cfg.view(c))
		}
		writeJSON(w, http.StatusOK, map[string]any{"connectors": list})
	})
	mux.HandleFunc("GET /v1/connectors/{name}", func(w http.ResponseWriter, r *http.Request) {
		for _, c := range cfg.connectors() {
			if c.Name == r.PathValue("name") {
				writeJSON(w, http.StatusOK, cfg.view(c))
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no connector named %q", r.PathValue("name"))})
	})
	if h := connectorActions(cfg, cfg.Actions); h != nil {
		mux.Handle("POST /v1/connectors/{action}", h)
	}
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.Live != nil {
			writeJSON(w, http.StatusOK, cfg.Live.View())
			return
		}
		writeJSON(w, http.StatusOK, NewConfigView(cfg.Connectors, cfg.LoadedAt))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		writeReady(ctx, w, r, cfg)
	})
	return jsonErrors(mux)
}

// writeReady answers /readyz: the whole process's readiness, or with
// ?stage=NAME one stage's, and with ?verbose every stage's state as well.
func writeReady(ctx context.Context, w http.ResponseWriter, r *http.Request, cfg APIConfig) {
	q := r.URL.Query()
	check := cfg.Ready
	if stage := q.Get("stage"); stage != "" {
		if cfg.StageReady == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no per-stage readiness"})
			return
		}
		check = func(ctx context.Context) error { return cfg.StageReady(ctx, stage) }
	}
	body := map[string]any{"status": "ready"}
	code := http.StatusOK
	if check != nil {
		if err := check(ctx); err != nil {
			code = http.StatusServiceUnavailable
			body["status"], body["reason"] = "not ready", err.Error()
		}
	}
	if q.Has("verbose") && cfg.Stages != nil {
		body["stages"] = cfg.Stages()
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ConnectorView is a connector as the API shows it: its settings without
// secrets (header values are redacted, the signature secret is reduced to
// "signed"), its state and its DT-style metrics over the last 3 hours.
// Events lists the types it receives: all of them when it has no filter.
type ConnectorView struct {
	Name        string            `json:"name"`
	State       string            `json:"state"`
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Labels      []string          `json:"labels"`
	Signed      bool              `json:"signed"`
	Headers     map[string]string `json:"headers"`
	Timeout     string            `json:"timeout"`
	MaxInFlight int               `json:"maxInFlight"`
	Ordering    string            `json:"ordering"`
	Retry       RetryView         `json:"retry"`
	Metrics     MetricsView       `json:"metrics"`
	HealthView
}

// RetryView shows a retry policy.
type RetryView struct {
	Backoff []string `json:"backoff"`
	MaxAge  string   `json:"maxAge"`
}

// MetricsView is DT's connector metrics object.
type MetricsView struct {
	SuccessCount int64  `json:"successCount"`
	ErrorCount   int64  `json:"errorCount"`
	Latency99p   string `json:"latency99p"`
}

// NewConnectorView builds the view of c with stats. State is ACTIVE,
// USER_DISABLED, or FAILING when the last 3 hours saw errors and no success.
func NewConnectorView(c *pipeline.Connector, st metrics.WindowStats) ConnectorView {
	v := ConnectorView{
		Name: c.Name, State: "ACTIVE", URL: c.URL.Redacted(),
		Events: eventsOf(c), Labels: nonNil(c.Labels),
		Signed: c.SignatureSecret != "", Headers: map[string]string{},
		Timeout: c.Timeout.String(), MaxInFlight: c.MaxInFlight, Ordering: cmp.Or(c.Ordering, pipeline.OrderingNone),
		Retry: RetryView{MaxAge: c.Retry.MaxAge.String()},
		Metrics: MetricsView{
			SuccessCount: st.SuccessCount, ErrorCount: st.ErrorCount,
			Latency99p: fmt.Sprintf("%.3fs", st.Latency99p.Seconds()),
		},
	}
	for k := range c.Headers {
		v.Headers[k] = "(redacted)"
	}
	for _, b := range c.Retry.Backoff {
		v.Retry.Backoff = append(v.Retry.Backoff, b.String())
	}
	switch {
	case c.Disabled:
		v.State = "USER_DISABLED"
	case st.ErrorCount > 0 && st.SuccessCount == 0:
		v.State = "FAILING"
	}
	return v
}

// eventsOf lists the event types c receives: every type when it has no
// filter.
func eventsOf(c *pipeline.Connector) []string {
	if len(c.Events) == 0 {
		return pipeline.EventTypes()
	}
	return c.Events
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
