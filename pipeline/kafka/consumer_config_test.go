package kafka

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The default in-flight total never caps a route below its own
// MaxInFlight: a user who sets max_in_flight 2000 gets 2000.
func TestConsumerConfigDefaultTotal(t *testing.T) {
	h := func(context.Context, *kgo.Record) error { return nil }
	for _, tc := range []struct {
		name  string
		limit []int
		want  int
	}{
		{"one route", []int{2000}, 2000},
		{"one small route", []int{10}, 10},
		{"small routes", []int{10, 20}, 1024},
		{"a large route among small ones", []int{10, 2000}, 2000},
	} {
		cfg := ConsumerConfig{Group: "g"}
		for i, n := range tc.limit {
			cfg.Routes = append(cfg.Routes, Route{Name: string(rune('a' + i)), Topics: []string{string(rune('a' + i))}, MaxInFlight: n, Handle: h})
		}
		if err := cfg.fill(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.MaxInFlightTotal != tc.want {
			t.Errorf("%s: MaxInFlightTotal = %d, want %d", tc.name, cfg.MaxInFlightTotal, tc.want)
		}
	}
	cfg := ConsumerConfig{Group: "g", MaxInFlightTotal: 100, Routes: []Route{{Name: "a", Topics: []string{"a"}, MaxInFlight: 2000, Handle: h}}}
	if err := cfg.fill(); err != nil || cfg.MaxInFlightTotal != 100 {
		t.Errorf("a total set explicitly: got %d, %v; want it kept at 100", cfg.MaxInFlightTotal, err)
	}
}
