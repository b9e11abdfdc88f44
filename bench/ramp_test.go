package bench

import "testing"

// The meter keeps the peak, notes when the target was first reached,
// counts from the first request, and forgets requests that ended.
func TestRampMeter(t *testing.T) {
	var m rampMeter
	m.target.Store(2)
	a := m.enter(100)
	b := m.enter(300) // reaches the target
	b()
	c := m.enter(500)
	a()
	c()
	peak, secs := rampOf(&m)
	if peak != 2 || secs != 200e-9 || m.now.Load() != 0 {
		t.Errorf("peak %d, ramp %v s, now %d; want 2, 2e-7 s, 0", peak, secs, m.now.Load())
	}
	var never rampMeter
	never.target.Store(5)
	never.enter(1)()
	if _, secs := rampOf(&never); secs != 0 {
		t.Errorf("ramp %v s for a target never reached, want 0", secs)
	}
}

// The busy mean leaves out the idle samples before and after.
func TestBusyMean(t *testing.T) {
	for _, tt := range []struct {
		in   []int64
		want float64
	}{{nil, 0}, {[]int64{0, 0}, 0}, {[]int64{0, 4, 0, 2, 0, 0}, 2}, {[]int64{3}, 3}} {
		if got := busyMean(tt.in); got != tt.want {
			t.Errorf("busyMean(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
