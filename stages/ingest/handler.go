package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
	"github.com/hookpipe/hookpipe/pipeline/metrics"
	"github.com/hookpipe/hookpipe/stages/ingest/envelope"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline"
)

// DefaultProduceTimeout is how long a request waits for Kafka by default.
const DefaultProduceTimeout = 10 * time.Second

// Config configures the handler that NewHandler returns.
type Config struct {
	// Client produces the events. Required. Build it with kgo's defaults
	// for acknowledgements: RequiredAcks(AllISRAcks) with idempotence, so
	// that an acknowledged event is on every in-sync replica.
	Client *kgo.Client
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
	// ProduceTimeout is how long a request waits for Kafka to acknowledge
	// its events before the answer is 503. Default DefaultProduceTimeout.
	ProduceTimeout time.Duration
	// Logger logs produce failures. Default slog.Default().
	Logger *slog.Logger
}

// handler is the http.Handler of NewHandler.
type handler struct {
	client  *kgo.Client
	topic   string
	lim     Limits
	auth    bool
	token   [sha256.Size]byte // SHA-256 of Config.Token, so that comparing leaks no length
	metrics *metrics.Metrics
	timeout time.Duration
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
// answers 202 {"accepted":N,"eventIds":[...]} only after
// Kafka acknowledged every one of them.
//
// When Kafka has not acknowledged all of them within Config.ProduceTimeout
// (a failed write is retried until then, as kafka.ProduceAcked says), the
// answer is 503 {"error":"kafka unavailable, retry later"} with
// "Retry-After: 1". Some events of that request may be
// stored nonetheless, and may still be written after the answer: a client
// that retries the same request with the same eventIds lets receivers
// deduplicate, while events whose ids the server assigned get new ids on
// the retry. A client that disconnects does not cancel its produce.
//
// Every answer is JSON. The handler is safe for concurrent use; requests
// share only the Kafka client.
func NewHandler(cfg Config) http.Handler {
	h := &handler{
		client:  cfg.Client,
		topic:   cfg.Topic,
		lim:     cfg.Limits.WithDefaults(),
		auth:    cfg.Token != "",
		token:   sha256.Sum256([]byte(cfg.Token)),
		metrics: cfg.Metrics,
		timeout: cfg.ProduceTimeout,
		log:     cfg.Logger,
	}
	if h.topic == "" {
		h.topic = pipeline.Topics{Prefix: "hookpipe"}.Events()
	}
	if h.timeout <= 0 {
		h.timeout = DefaultProduceTimeout
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

// produce writes one record per envelope and returns once Kafka has
// acknowledged all of them, or the produce timeout passed (failed writes
// are retried until then: kafka.ProduceAcked). The timeout, not the
// request's cancellation, bounds the wait: a record's context may fail the
// batch it heads, which holds other requests' records.
func (h *handler) produce(ctx context.Context, envs []*pipeline.Envelope, now time.Time) error {
	if h.client == nil {
		return errors.New("ingest: no kafka client configured")
	}
	recs := h.records(envs, now)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.timeout)
	defer cancel()
	return kafka.ProduceAcked(ctx, h.client, h.log, recs...)
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
