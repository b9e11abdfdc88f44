package kafka

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// The commit point is always one past the longest prefix of added offsets
// that are all done, whatever order Done arrives in, and never moves back.
func TestOffsetTrackerRandomOrder(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tr := NewOffsetTracker()
		// Offsets with gaps, as transaction markers and compaction leave.
		var offsets []int64
		for o := int64(100); len(offsets) < 500; o += 1 + int64(rng.IntN(3)) {
			offsets = append(offsets, o)
			tr.Add(o, 3)
		}
		done := make(map[int64]bool)
		last := int64(-1)
		for _, i := range rng.Perm(len(offsets)) {
			tr.Done(offsets[i])
			done[offsets[i]] = true
			want := int64(-1)
			for _, o := range offsets {
				if !done[o] {
					break
				}
				want = o + 1
			}
			got, _ := tr.Committable()
			if got.Offset != want {
				t.Fatalf("seed %d: commit point %d, want %d", seed, got.Offset, want)
			}
			if got.Offset < last {
				t.Fatalf("seed %d: commit point moved back from %d to %d", seed, last, got.Offset)
			}
			last = got.Offset
		}
		if tr.Pending() != 0 {
			t.Fatalf("seed %d: %d pending after all done", seed, tr.Pending())
		}
	}
}

// Nothing is committable while the lowest offset is not done, however
// many offsets above it are; Committable reports a move only once.
func TestOffsetTrackerHeadBlocks(t *testing.T) {
	tr := NewOffsetTracker()
	for o := int64(0); o < 10; o++ {
		tr.Add(o, 1)
	}
	for o := int64(1); o < 10; o++ {
		tr.Done(o)
	}
	if eo, moved := tr.Committable(); moved || eo.Offset != -1 {
		t.Fatalf("committable %v (moved %v) with offset 0 outstanding", eo, moved)
	}
	tr.Done(0)
	eo, moved := tr.Committable()
	if !moved || eo.Offset != 10 || eo.Epoch != 1 {
		t.Fatalf("after offset 0 done: %+v moved=%v, want offset 10 epoch 1", eo, moved)
	}
	if _, moved := tr.Committable(); moved {
		t.Fatal("second Committable reports a move")
	}
	tr.Done(42) // never added: ignored
	if tr.Pending() != 0 {
		t.Fatalf("pending %d", tr.Pending())
	}
}

// Done from many goroutines at once leaves the commit point at the end.
func TestOffsetTrackerConcurrentDone(t *testing.T) {
	tr := NewOffsetTracker()
	const n = 5000
	for o := int64(0); o < n; o++ {
		tr.Add(o, 0)
	}
	var wg sync.WaitGroup
	for w := range int64(8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := w; o < n; o += 8 {
				tr.Done(o)
			}
		}()
	}
	wg.Wait()
	if eo, _ := tr.Committable(); eo.Offset != n {
		t.Fatalf("commit point %d, want %d", eo.Offset, n)
	}
}

func BenchmarkOffsetTracker(b *testing.B) {
	tr := NewOffsetTracker()
	b.ReportAllocs()
	const window = 1000
	for i := 0; i < b.N; i++ {
		tr.Add(int64(i), 0)
		if i >= window {
			tr.Done(int64(i - window + (i % 7)))
			tr.Done(int64(i - window))
		}
	}
}

// PrefixWith counts staged offsets as done without recording them: the
// prefix passes staged offsets and done ones, and stops at the first that
// is neither.
func TestTrackerPrefixWith(t *testing.T) {
	tr := NewOffsetTracker()
	for o := int64(10); o < 16; o++ {
		tr.Add(o, 3)
	}
	if _, ok := tr.PrefixWith([]int64{11}); ok {
		t.Fatal("prefix with offset 10 neither done nor staged: want none")
	}
	tr.Done(10)
	tr.Done(12)
	for _, c := range []struct {
		staged []int64
		want   int64
	}{{nil, 11}, {[]int64{11}, 13}, {[]int64{11, 13, 14}, 15}, {[]int64{13}, 11}, {[]int64{11, 13, 14, 15}, 16}} {
		if eo, ok := tr.PrefixWith(c.staged); !ok || eo.Offset != c.want || eo.Epoch != 3 {
			t.Errorf("PrefixWith(%v) = %v, %v; want offset %d", c.staged, eo, ok, c.want)
		}
	}
	if eo, _ := tr.Committable(); eo.Offset != 11 {
		t.Errorf("PrefixWith recorded something: committable %d, want 11", eo.Offset)
	}
}
