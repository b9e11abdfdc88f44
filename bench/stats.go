package bench

import (
	"slices"
	"time"
)

// Latency summarises a set of latencies. In JSON the durations are
// integer nanoseconds.
type Latency struct {
	// Count is how many samples were summarised.
	Count int `json:"count"`
	// P50, P90 and P99 are nearest-rank percentiles.
	P50 time.Duration `json:"p50"`
	P90 time.Duration `json:"p90"`
	P99 time.Duration `json:"p99"`
	// Max is the largest sample.
	Max time.Duration `json:"max"`
}

// Summarise returns the percentiles of samples, which it sorts in place.
// Nil samples give the zero Latency.
func Summarise(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	return Latency{
		Count: len(samples),
		P50:   Percentile(samples, 50),
		P90:   Percentile(samples, 90),
		P99:   Percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, which must be sorted ascending and not empty: the smallest sample
// at or above which p percent of the samples lie.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(p/100*float64(len(sorted)) + 0.999999999)
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
