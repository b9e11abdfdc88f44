package health

import (
	"net/http"
	"testing"
	"time"
)

// Each status and Retry-After form classifies as the README's table says,
// and a Retry-After is capped at the largest backoff.
func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	date := now.Add(90 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		status     int
		retryAfter string
		want       Kind
		wait       time.Duration
	}{
		{200, "", Success, 0},
		{204, "5", Success, 0},
		{301, "", Failure, 0},
		{400, "", Failure, 0},
		{410, "", Gone, 0},
		{429, "", Failure, 0},
		{429, "3", Throttled, 3 * time.Second},
		{503, "3", Throttled, 3 * time.Second},
		{429, date, Throttled, 90 * time.Second},
		{503, now.Add(-time.Minute).Format(http.TimeFormat), Throttled, 0},
		{429, "3600", Throttled, 10 * time.Minute},
		{429, "99999999999999999999", Failure, 0},
		{429, "-1", Failure, 0},
		{429, "soon", Failure, 0},
		{500, "3", Failure, 0},
		{502, "", Failure, 0},
		{0, "", Failure, 0},
	}
	for _, tt := range tests {
		v := Classify(tt.status, tt.retryAfter, now, 10*time.Minute)
		if v.Kind != tt.want || (v.Kind == Throttled && !v.Until.Equal(now.Add(tt.wait))) {
			t.Errorf("Classify(%d, %q) = %s until %v, want %s after %s", tt.status, tt.retryAfter, v.Kind, v.Until, tt.want, tt.wait)
		}
	}
}
