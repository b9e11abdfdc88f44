package bench

import (
	"fmt"
	"time"
)

// Sizes are the scenarios' sizes. A zero field takes the default.
type Sizes struct {
	// Events is how many events the ceiling, throughput and isolation
	// scenarios send. Default 200,000 (quick: 20,000).
	Events int `json:"events"`
	// Batch is how many events one ingest request carries. Default 100.
	Batch int `json:"batch"`
	// Posters is how many ingest requests are in flight at once. Default 8.
	Posters int `json:"posters"`
	// MaxInFlight is the connectors' max_in_flight, and the ceiling's
	// concurrency. Default 1000.
	MaxInFlight int `json:"maxInFlight"`
	// Rate is the latency scenario's events per second. Default 1000.
	Rate float64 `json:"rate"`
	// Duration is how long the latency scenario sends. Default 20s
	// (quick: 4s).
	Duration time.Duration `json:"duration"`
	// RateBatch is how many events one request carries at a fixed rate.
	// Default 10.
	RateBatch int `json:"rateBatch"`
	// SlowLatency is the slow endpoint's delay per request. Default 250ms.
	SlowLatency time.Duration `json:"slowLatency"`
	// SlowEvents is how many events the slow scenario sends with the full
	// in-flight bound. Default 40,000 (quick: 12,000).
	SlowEvents int `json:"slowEvents"`
	// SequentialFor is about how long the sequential baseline of the slow
	// scenario runs; it sends partitions/SlowLatency*SequentialFor events.
	// Default 10s (quick: 3s).
	SequentialFor time.Duration `json:"sequentialFor"`
	// IsolationEvents is how many events the isolation scenario sends,
	// alone and with neighbours. Default 100,000 (quick: 20,000).
	IsolationEvents int `json:"isolationEvents"`
	// BacklogEvents is how many events the backlog scenario queues.
	// Default 1,000,000 (quick: 50,000).
	BacklogEvents int `json:"backlogEvents"`
	// ConnectorCounts are the connectors scenario's connector counts.
	// Default 1, 10, 100, 1000 (quick: 1, 10, 100).
	ConnectorCounts []int `json:"connectorCounts"`
	// ConnectorDeliveries is how many deliveries each run of the
	// connectors scenario makes, spread evenly over its connectors.
	// Default 120,000 (quick: 30,000).
	ConnectorDeliveries int `json:"connectorDeliveries"`
	// Outage is how long the amplification scenario's endpoint is down
	// while events arrive at Rate. Default 60s (quick: 10s).
	Outage time.Duration `json:"outage"`
}

// Defaults are the sizes of a full run: a few minutes.
func Defaults() Sizes {
	return Sizes{
		Events: 200_000, Batch: 100, Posters: 8, MaxInFlight: 1000,
		Rate: 1000, Duration: 20 * time.Second, RateBatch: 10,
		SlowLatency: 250 * time.Millisecond, SlowEvents: 40_000, SequentialFor: 10 * time.Second,
		IsolationEvents: 100_000, BacklogEvents: 1_000_000,
		ConnectorCounts: []int{1, 10, 100, 1000}, ConnectorDeliveries: 120_000,
		Outage: 60 * time.Second,
	}
}

// QuickDefaults are the sizes of 'hookpipe bench --quick': under a minute.
func QuickDefaults() Sizes {
	s := Defaults()
	s.Events, s.Duration, s.SlowEvents, s.SequentialFor = 20_000, 4*time.Second, 12_000, 3*time.Second
	s.IsolationEvents, s.BacklogEvents = 20_000, 50_000
	s.ConnectorCounts, s.ConnectorDeliveries = []int{1, 10, 100}, 30_000
	s.Outage = 10 * time.Second
	return s
}

// withDefaults returns s with every zero field taken from def.
func (s Sizes) withDefaults(def Sizes) Sizes {
	or := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	or(&s.Events, def.Events)
	or(&s.Batch, def.Batch)
	or(&s.Posters, def.Posters)
	or(&s.MaxInFlight, def.MaxInFlight)
	or(&s.RateBatch, def.RateBatch)
	or(&s.SlowEvents, def.SlowEvents)
	or(&s.IsolationEvents, def.IsolationEvents)
	or(&s.BacklogEvents, def.BacklogEvents)
	or(&s.ConnectorDeliveries, def.ConnectorDeliveries)
	if len(s.ConnectorCounts) == 0 {
		s.ConnectorCounts = def.ConnectorCounts
	}
	if s.Rate <= 0 {
		s.Rate = def.Rate
	}
	for _, d := range []struct{ v, def *time.Duration }{
		{&s.Duration, &def.Duration}, {&s.SlowLatency, &def.SlowLatency}, {&s.SequentialFor, &def.SequentialFor},
		{&s.Outage, &def.Outage},
	} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	return s
}

func (s Sizes) check() error {
	switch {
	case s.Batch > 1000 || s.RateBatch > 1000:
		return fmt.Errorf("batch %d: want at most 1000, the pipeline's --max-events", max(s.Batch, s.RateBatch))
	case s.MaxInFlight > 100_000:
		return fmt.Errorf("max in flight %d: want at most 100000", s.MaxInFlight)
	case s.Events > 50_000_000 || s.BacklogEvents > 50_000_000 || s.ConnectorDeliveries > 50_000_000:
		return fmt.Errorf("events: want at most 50,000,000 per scenario")
	}
	for _, n := range s.ConnectorCounts {
		if n < 1 || n > 10_000 {
			return fmt.Errorf("connectors count %d: want 1 to 10000", n)
		}
	}
	return nil
}
