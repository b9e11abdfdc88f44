package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/ingest/envelope"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultProduceTimeout is how long a request waits for Kafka by default.
const DefaultProduceTimeout = 10 * time.Second

// Config configures the handler that NewHandler returns.
type Config struct {
	// Writer writes each request's events in a Kafka transaction.
	// Required. Build its client with kgo's defaults for acknowledgements:
	// RequiredAcks(AllISRAcks) with idempotence, so that an acknowledged
	// event is on every in-sync replica.
	Writer *Writer
	// Topic is the events topic. Default pipeline.Topics{Prefix:
	// "hookpipe"}.Events(), that is "hookpipe.events".
	Topic string
	// Limits bound what one request may carry. Zero fields take the
	// defaults of Limits.
	Limits Limits
	// Token, when not empty, is required in every request as
	// "Authorization: Bearer <token>". Default "" (no authentication).
	Token string
	// Metrics counts requests by status and accepted events. Default nil
	// (no metrics).
	Metrics *metrics.Metrics
	// Logger logs produce failures. Default slog.Default().
	Logger *slog.Logger
}

// handler is the http.Handler of NewHandler.
type handler struct {
	writer  *Writer
	topic   string
	lim     Limits
	auth    bool
	token   [sha256.Size]byte // SHA-256 of Config.Token, so that comparing leaks no length
	metrics *metrics.Metrics
	log     *slog.Logger
}

// NewHandler returns the handler of POST /v1/events; the caller mounts it
// at that path. Other methods get 405 with "Allow: POST".
//
// A request is all or nothing. Its body is decoded and validated by
// envelope.Decode; any error answers 400 (413 over the size or count limits) with
// {"error":"..."} and nothing is written to Kafka. A body sent with
// Content-Encoding: gzip is decompressed first, and Limits.MaxBodyBytes
// bounds it both as sent and decompressed; any other encoding is 415. A
// valid request produces one record per event to the events topic
// (pipeline.EncodeEvent: key deviceId; value the envelope as stored, with
// its assigned eventId and timestamp and derived metadata; headers ingest
// time, eventId, eventType and labels; timestamp the ingest time) and
// all in one Kafka transaction (see Writer), and answers 202
// {"accepted":N,"eventIds":[...]} only after Kafka committed it.
//
// When the transaction is aborted (Kafka failed a record, or did not
// acknowledge all of them within the Writer's timeout), the answer is 503
// {"error":"kafka unavailable, retry later"} with "Retry-After: 1", and
// none of the request's events is or will become visible to read_committed
// consumers: a retry creates no duplicate. In the one case where Kafka
// does not confirm the outcome of the commit itself, the answer is 504
// {"error":"kafka did not confirm the write, retry later"}: the events are
// then all stored or none. A client that disconnects does not cancel its
// write.
//
// Every answer is JSON. The handler is safe for concurrent use; requests
// share only the Writer.
func NewHandler(cfg Config) http.Handler {
	h := &handler{
		writer:  cfg.Writer,
		topic:   cfg.Topic,
		lim:     cfg.Limits.WithDefaults(),
		auth:    cfg.Token != "",
		token:   sha256.Sum256([]byte(cfg.Token)),
		metrics: cfg.Metrics,
		log:     cfg.Logger,
	}
	if h.topic == "" {
		h.topic = pipeline.Topics{Prefix: "hookpipe"}.Events()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// ServeHTTP serves one request and counts it by status.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.metrics.IngestRequest(h.serve(w, r))
}

// serve answers r and returns the status it answered with.
func (h *handler) serve(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		return writeError(w, http.StatusUnauthorized, "unauthorized")
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return writeError(w, statusOf(err), err.Error())
	}
	now := time.Now()
	envs, err := envelope.Decode(body, r.Header.Get("Content-Type"), h.lim, now)
	if err != nil {
		return writeError(w, statusOf(err), err.Error())
	}
	if err := h.produce(r.Context(), envs, now); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "ingest: producing to kafka failed",
			slog.String("topic", h.topic), slog.Int("events", len(envs)), slog.Any("error", err))
		w.Header().Set("Retry-After", "1")
		if errors.Is(err, ErrOutcomeUnknown) {
			return writeError(w, http.StatusGatewayTimeout, "kafka did not confirm the write, retry later")
		}
		return writeError(w, http.StatusServiceUnavailable, "kafka unavailable, retry later")
	}
	h.metrics.IngestAccepted(len(envs))
	ids := make([]string, len(envs))
	for i, env := range envs {
		ids[i] = env.Event.EventID
	}
	return writeJSON(w, http.StatusAccepted, accepted{Accepted: len(envs), EventIDs: ids})
}

// accepted is the body of a 202 answer.
type accepted struct {
	Accepted int      `json:"accepted"`
	EventIDs []string `json:"eventIds"`
}

// authorized reports whether r carries the configured bearer token.
func (h *handler) authorized(r *http.Request) bool {
	if !h.auth {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

// produce writes one record per envelope in one transaction and returns
// once Kafka committed it, or the Writer's error.
func (h *handler) produce(ctx context.Context, envs []*pipeline.Envelope, now time.Time) error {
	if h.writer == nil {
		return fmt.Errorf("no kafka writer configured: %w", ErrNotStored)
	}
	return h.writer.Write(context.WithoutCancel(ctx), h.records(envs, now))
}

// records encodes the envelopes as records of the events topic
// (pipeline.EncodeEvent). It is apart from produce so that its frame is
// gone before the produce deepens the stack.
func (h *handler) records(envs []*pipeline.Envelope, now time.Time) []*kgo.Record {
	recs := make([]kgo.Record, len(envs))
	out := make([]*kgo.Record, len(envs))
	for i, env := range envs {
		recs[i] = pipeline.EncodeEvent(h.topic, env, now)
		out[i] = &recs[i]
	}
	return out
}

// writeError answers {"error":msg} with code and returns code.
func writeError(w http.ResponseWriter, code int, msg string) int {
	return writeJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}

// writeJSON answers v as JSON with code and returns code.
func writeJSON(w http.ResponseWriter, code int, v any) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote "<projectId>" as is
	b := []byte(`{"error":"internal error"}`)
	if err := enc.Encode(v); err == nil { // cannot fail for the answers above
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	} else {
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}
