package bench

import (
	"testing"
	"time"
)

// utime and stime are counted from the command name's last ')', so a name
// with spaces and parentheses does not shift them.
func TestParseStatCPU(t *testing.T) {
	stat := "4242 (hook pipe (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 9 0 100 0 0\n"
	got, ok := parseStatCPU(stat)
	if !ok || got != 175*clockTick {
		t.Errorf("parseStatCPU = %v, %v; want %v", got, ok, 175*clockTick)
	}
	if _, ok := parseStatCPU("4242 (short) S 1 2"); ok {
		t.Error("a truncated stat parsed")
	}
}

// The bench reads its own CPU time, and it grows with work done.
func TestProcCPUSelf(t *testing.T) {
	before, ok := procCPU(0)
	if !ok {
		t.Fatal("cannot read /proc/self/stat")
	}
	deadline := time.Now().Add(5 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if after, _ := procCPU(0); after > before {
			return
		}
	}
	t.Errorf("CPU time did not grow over 5 s of work (%d)", x)
}
