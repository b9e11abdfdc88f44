package envelope

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkDecode measures Decode on the hot path of ingest: one envelope
// (the fixture's temperature event, with labels and metadata) and a JSON
// array of 100 envelopes of every type.
func BenchmarkDecode(b *testing.B) {
	lines := fixtureLines(b)
	var array bytes.Buffer
	array.WriteByte('[')
	for i := range 100 {
		if i > 0 {
			array.WriteByte(',')
		}
		array.Write(lines[i%len(lines)])
	}
	array.WriteByte(']')
	benchmarks := []struct {
		name string
		body []byte
		want int
	}{
		{"one", lines[1], 1},
		{"array100", array.Bytes(), 100},
	}
	now := time.Now()
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.body)))
			for b.Loop() {
				envs, err := Decode(bm.body, "application/json", Limits{}, now)
				if err != nil || len(envs) != bm.want {
					b.Fatalf("Decode: %d envelopes, %v", len(envs), err)
				}
			}
		})
	}
}
