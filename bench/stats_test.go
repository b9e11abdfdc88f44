package bench

import (
	"testing"
	"time"
)

// Percentiles are nearest-rank: the smallest sample at or above which p
// percent of the samples lie, so p100 is the max and p50 of 1..10 is 5.
func TestPercentile(t *testing.T) {
	var ten []time.Duration
	for i := 1; i <= 10; i++ {
		ten = append(ten, time.Duration(i))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"one sample", []time.Duration{7}, 99, 7},
		{"p50 of ten", ten, 50, 5},
		{"p90 of ten", ten, 90, 9},
		{"p99 of ten", ten, 99, 10},
		{"p100 is the max", ten, 100, 10},
		{"tiny p is the min", ten, 0.01, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

// Summarise sorts its input and reports count, percentiles and max; no
// samples give the zero Latency.
func TestSummarise(t *testing.T) {
	if got := Summarise(nil); got != (Latency{}) {
		t.Errorf("Summarise(nil) = %+v, want zero", got)
	}
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	want := Latency{Count: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond,
		P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got := Summarise(s); got != want {
		t.Errorf("Summarise(100..1 ms) = %+v, want %+v", got, want)
	}
}
