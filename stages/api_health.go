package stages

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline"
	"github.com/hookpipe/hookpipe/stages/deliver/health"
)

// HealthView is the part of a ConnectorView that endpoint health adds:
// the details of the state, and time to loss in this process.
type HealthView struct {
	// ReopensAt is when a CIRCUIT_OPEN connector sends its next probe.
	ReopensAt string `json:"reopensAt,omitempty"`
	// Until is when a THROTTLED connector may send again.
	Until string `json:"until,omitempty"`
	// Reason says why a connector is disabled.
	Reason string `json:"reason,omitempty"`
	// OldestPendingAge is the age of the oldest event not yet delivered,
	// as seconds ("0.000s" when none).
	OldestPendingAge string `json:"oldestPendingAge,omitempty"`
	// ExpiresIn is the time before that event reaches max_age.
	ExpiresIn string `json:"expiresIn,omitempty"`
}

// view builds c's view with its metrics and, when known, its health.
func (cfg APIConfig) view(c *pipeline.Connector) ConnectorView {
	v := NewConnectorView(c, cfg.Metrics.Connector(c.Name).Stats())
	if cfg.Health == nil {
		return v
	}
	hv, ok := cfg.Health.View(c.Name, time.Now())
	if !ok {
		return v
	}
	v.State = string(hv.State)
	v.HealthView = HealthView{
		Reason:           hv.Reason,
		OldestPendingAge: seconds(hv.OldestPending),
		ExpiresIn:        seconds(hv.ExpiresIn),
	}
	if !hv.ReopensAt.IsZero() {
		v.ReopensAt = hv.ReopensAt.UTC().Format(time.RFC3339Nano)
	}
	if !hv.Until.IsZero() {
		v.Until = hv.Until.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3fs", d.Seconds()) }

// connectorActions returns the handler of POST /v1/connectors/{action}
// for "<name>:disable" and "<name>:enable", passing every other action to
// next; nil when there is nothing to serve. :disable stores
// USER_DISABLED; :enable stores ACTIVE, which also clears
// SYSTEM_DISABLED. Both answer 200 with the connector's view once Kafka
// acknowledged the state, 404 for an unknown connector or action, 401
// without the token, and 503 when the state cannot be stored.
func connectorActions(cfg APIConfig, next http.Handler) http.Handler {
	if cfg.Health == nil {
		return next
	}
	auth := bearer(cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, verb, _ := strings.Cut(r.PathValue("action"), ":")
		var a health.Admin
		switch {
		case verb == "disable":
			a = health.Admin{State: health.StateUserDisabled, Reason: "disabled through the API"}
		case verb == "enable":
			a = health.Admin{State: health.StateActive}
		case next != nil:
			next.ServeHTTP(w, r)
			return
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("unknown action %q: use {name}:disable or {name}:enable", verb)})
			return
		}
		if !auth(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		setAdmin(w, r, cfg, name, a)
	})
}

// setAdmin stores connector name's state and answers with its view.
func setAdmin(w http.ResponseWriter, r *http.Request, cfg APIConfig, name string, a health.Admin) {
	for _, c := range cfg.connectors() {
		if c.Name != name {
			continue
		}
		if err := cfg.Health.SetAdmin(r.Context(), name, a); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, cfg.view(c))
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no connector named %q", name)})
}

// bearer returns a check of "Authorization: Bearer <token>"; with no
// token, every request passes.
func bearer(token string) func(*http.Request) bool {
	if token == "" {
		return func(*http.Request) bool { return true }
	}
	want := sha256.Sum256([]byte(token))
	return func(r *http.Request) bool {
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
	}
}
