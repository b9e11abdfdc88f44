package stages

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/stages/replay"
)

// actionTimeout bounds one action request, inside the server's 30 s
// write timeout.
const actionTimeout = 25 * time.Second

// ActionsConfig configures the connector actions,
// POST /v1/connectors/{name}:replay and POST /v1/connectors/{name}:sync.
type ActionsConfig struct {
	// Connectors are the connectors actions may name.
	Connectors []*pipeline.Connector
	// Topics names the topics and groups.
	Topics pipeline.Topics
	// Kafka says how to reach Kafka.
	Kafka kafka.Config
	// Token, when set, is required as "Authorization: Bearer <token>",
	// the same token as POST /v1/events.
	Token string
	// Sync queues the latest events for a connector and returns how many;
	// nil answers :sync with 501.
	Sync func(ctx context.Context, c *pipeline.Connector) (int, error)
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Live, when set, holds the connectors in force (a reload changes
	// them); Connectors is then ignored.
	Live *Live
}

// actions serves POST /v1/connectors/{name}:{verb}.
type actions struct {
	cfg   ActionsConfig
	auth  bool
	token [sha256.Size]byte
	log   *slog.Logger
}

// NewActions returns the handler of POST /v1/connectors/{action}, where
// action is "<name>:replay" or "<name>:sync". It is safe for concurrent
// use; each request runs its action on its own Kafka client.
func NewActions(cfg ActionsConfig) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &actions{cfg: cfg, auth: cfg.Token != "", token: sha256.Sum256([]byte(cfg.Token)), log: log}
}

func (a *actions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	name, verb, _ := strings.Cut(r.PathValue("action"), ":")
	c := a.connector(name)
	switch {
	case verb != "replay" && verb != "sync":
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown action %q: want POST /v1/connectors/<name>:replay or :sync", r.PathValue("action"))})
	case c == nil:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no connector named %q", name)})
	case verb == "replay":
		a.replay(w, r, c)
	default:
		a.sync(w, r, c)
	}
}

// authorized reports whether r carries the configured bearer token,
// compared in constant time.
func (a *actions) authorized(r *http.Request) bool {
	if !a.auth {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], a.token[:]) == 1
}

func (a *actions) connector(name string) *pipeline.Connector {
	if a.cfg.Live != nil {
		return a.cfg.Live.Connector(name)
	}
	for _, c := range a.cfg.Connectors {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ReplayRequest is the optional JSON body of :replay; every field may be
// omitted. Times are RFC 3339 or a duration ago, as for `hookpipe replay`.
type ReplayRequest struct {
	Since      string   `json:"since"`
	Until      string   `json:"until"`
	EventTypes []string `json:"eventTypes"`
	DryRun     bool     `json:"dryRun"`
}

// replay runs a replay and answers 200 with its replay.Result, 400 for a
// bad body, or 503 with what was replayed before Kafka failed.
func (a *actions) replay(w http.ResponseWriter, r *http.Request, c *pipeline.Connector) {
	sel, dry, err := decodeReplay(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	res, err := replay.Replay(ctx, replay.Config{Connector: c.Name, Topics: a.cfg.Topics, Kafka: a.cfg.Kafka, Selection: sel, DryRun: dry, Idle: actionTimeout})
	if err != nil {
		a.log.Warn("replay failed", "connector", c.Name, "replayed", res.Replayed, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "replay: " + err.Error(), "replayed": res.Replayed})
		return
	}
	a.log.Info("replayed dead letters", "connector", c.Name, "replayed", res.Replayed, "dryRun", dry)
	writeJSON(w, http.StatusOK, res)
}

// decodeReplay reads a ReplayRequest (an empty body is the zero one).
func decodeReplay(body io.Reader) (replay.Selection, bool, error) {
	var req ReplayRequest
	dec := json.NewDecoder(io.LimitReader(body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return replay.Selection{}, false, fmt.Errorf("body: %w", err)
	}
	sel := replay.Selection{EventTypes: req.EventTypes}
	now := time.Now()
	var err error
	if req.Since != "" {
		if sel.Since, err = replay.ParseTime(req.Since, now); err != nil {
			return sel, false, fmt.Errorf("since: %w", err)
		}
	}
	if req.Until != "" {
		if sel.Until, err = replay.ParseTime(req.Until, now); err != nil {
			return sel, false, fmt.Errorf("until: %w", err)
		}
	}
	if err := sel.Check(); err != nil {
		return sel, false, err
	}
	return sel, req.DryRun, nil
}

// sync queues the latest events for c and answers 202 {"queued":N}.
func (a *actions) sync(w http.ResponseWriter, r *http.Request, c *pipeline.Connector) {
	if a.cfg.Sync == nil {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "sync is not available in this process"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	n, err := a.cfg.Sync(ctx, c)
	if err != nil {
		a.log.Warn("sync failed", "connector", c.Name, "queued", n, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "sync: " + err.Error(), "queued": n})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"queued": n})
}
