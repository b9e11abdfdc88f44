package health

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hookpipe/hookpipe/pipeline/kafka"
)

// StoreConfig configures a Store.
type StoreConfig struct {
	// Kafka makes the store's reader.
	Kafka kafka.Config
	// Topic is the compacted state topic, <p>.state.
	Topic string
	// Producer writes states; shared with the process.
	Producer *kgo.Client
	// OnChange is called from Run's goroutine for every state read, in
	// topic order, including the states read while catching up at start.
	OnChange func(connector string, a Admin)
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Store keeps connectors' cluster-wide states (ACTIVE, USER_DISABLED,
// SYSTEM_DISABLED) in a compacted topic keyed by connector name. Every
// process tails the topic, so all agree within a fetch (under a second),
// and a restart reads the states back. Set writes; the change takes effect
// in every process, this one included, when its reader sees the record.
// Methods are safe for concurrent use.
type Store struct {
	cfg StoreConfig
	cl  *kgo.Client
	log *slog.Logger

	mu       sync.Mutex
	states   map[string]Admin
	caughtUp chan struct{} // closed once the topic was read to its end at start
}

// NewStore creates the store's reader; nothing is read until Run.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cl, err := cfg.Kafka.NewClient(
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return &Store{cfg: cfg, cl: cl, log: cfg.Logger, states: map[string]Admin{}, caughtUp: make(chan struct{})}, nil
}

// Name returns "state store", the name the runner shows.
func (s *Store) Name() string { return "state store" }

// Ready reports whether the store has read the topic to the end it had
// at start.
func (s *Store) Ready() bool {
	select {
	case <-s.caughtUp:
		return true
	default:
		return false
	}
}

// WaitCaughtUp waits until Ready or ctx ends.
func (s *Store) WaitCaughtUp(ctx context.Context) error {
	select {
	case <-s.caughtUp:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("state store not read yet: %w", ctx.Err())
	}
}

// Get returns a connector's stored state; ACTIVE when none is stored.
func (s *Store) Get(connector string) Admin {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.states[connector]; ok {
		return a
	}
	return Admin{State: StateActive}
}

// Set writes a connector's state and returns once Kafka acknowledged it.
func (s *Store) Set(ctx context.Context, connector string, a Admin) error {
	if a.At.IsZero() {
		a.At = time.Now().UTC()
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	r := &kgo.Record{Topic: s.cfg.Topic, Key: []byte(connector), Value: b}
	if err := s.cfg.Producer.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("write state of %s: %w", connector, err)
	}
	return nil
}
