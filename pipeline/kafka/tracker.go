package kafka

import (
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// OffsetTracker tracks the records of one partition that were handed out
// for work and says how far the partition may be committed: up to, not
// including, the lowest offset whose work is not done.
//
// Add must be called in ascending offset order from one goroutine (the
// poll loop); Done may be called from any goroutine, in any order, once per
// added offset. Each tracker has its own lock: partitions never contend.
type OffsetTracker struct {
	mu      sync.Mutex
	entries []trackEntry // ascending offsets; entries[head:] are live
	head    int
	commit  kgo.EpochOffset // next offset to commit; Offset -1 = none yet
	marked  kgo.EpochOffset // commit as of the last Committable call
}

type trackEntry struct {
	offset int64
	stamp  int64 // AddStamped's stamp; 0 when added by Add
	epoch  int32
	done   bool
}

// NewOffsetTracker returns an empty tracker.
func NewOffsetTracker() *OffsetTracker {
	none := kgo.EpochOffset{Epoch: -1, Offset: -1}
	return &OffsetTracker{commit: none, marked: none}
}

// Add registers offset (with its leader epoch) as handed out for work.
func (t *OffsetTracker) Add(offset int64, epoch int32) {
	t.mu.Lock()
	t.entries = append(t.entries, trackEntry{offset: offset, epoch: epoch})
	t.mu.Unlock()
}

// AddStamped is Add with a stamp (such as the record's expiry in unix
// milliseconds) that Oldest reports while the offset is the first one not
// done.
func (t *OffsetTracker) AddStamped(offset int64, epoch int32, stamp int64) {
	t.mu.Lock()
	t.entries = append(t.entries, trackEntry{offset: offset, stamp: stamp, epoch: epoch})
	t.mu.Unlock()
}

// Oldest returns the stamp of the lowest offset not done, 0 when every
// added offset is done.
func (t *OffsetTracker) Oldest() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head < len(t.entries) {
		return t.entries[t.head].stamp
	}
	return 0
}

// Done records that the work for offset is acknowledged, and advances the
// commit point over the contiguous done prefix; it reports whether the
// commit point moved. Done for an offset that was never added (or already
// passed) is ignored.
func (t *OffsetTracker) Done(offset int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	live := t.entries[t.head:]
	i := sort.Search(len(live), func(i int) bool { return live[i].offset >= offset })
	if i == len(live) || live[i].offset != offset {
		return false
	}
	live[i].done = true
	moved := t.head < len(t.entries) && t.entries[t.head].done
	for t.head < len(t.entries) && t.entries[t.head].done {
		e := t.entries[t.head]
		t.commit = kgo.EpochOffset{Epoch: e.epoch, Offset: e.offset + 1}
		t.head++
	}
	t.compact()
	return moved
}

// compact drops the done prefix once it is at least half of the slice, so
// that memory follows the number of live entries. Called with mu held.
func (t *OffsetTracker) compact() {
	if t.head == len(t.entries) {
		t.entries, t.head = t.entries[:0], 0
		return
	}
	if t.head < 1024 || t.head < len(t.entries)/2 {
		return
	}
	n := copy(t.entries, t.entries[t.head:])
	t.entries, t.head = t.entries[:n], 0
}

// Committable returns the offset to commit (the next offset to read) and
// whether it moved since the previous call.
func (t *OffsetTracker) Committable() (kgo.EpochOffset, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	moved := t.commit != t.marked
	t.marked = t.commit
	return t.commit, moved && t.commit.Offset >= 0
}

// Pending returns how many added offsets are not yet committable: those not
// done, and done ones above the first one not done.
func (t *OffsetTracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries) - t.head
}

// PrefixWith returns the commit point the partition would have if the
// offsets in staged (ascending) were done too, without recording them: a
// transaction commits it with the staged offsets' output, and calls Done
// for them once it committed. ok is false when nothing would be
// committable.
func (t *OffsetTracker) PrefixWith(staged []int64) (eo kgo.EpochOffset, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	eo, j := t.commit, 0
	for _, e := range t.entries[t.head:] {
		for j < len(staged) && staged[j] < e.offset {
			j++
		}
		if !e.done && (j == len(staged) || staged[j] != e.offset) {
			break
		}
		eo = kgo.EpochOffset{Epoch: e.epoch, Offset: e.offset + 1}
	}
	return eo, eo.Offset >= 0
}
