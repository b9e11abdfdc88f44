package pipeline

import (
	"bytes"
	"slices"
)

// The stored layout of an events record's value (record.go writes and
// reads the records): DT's webhook body with every label of the device,
// keys sorted. Its labels object is located by HeaderLabels, so that a
// connector's body is the value with only that connector's label pairs
// spliced in, byte for byte what Renderer.Append gives.

// appendStored appends env in the stored layout and returns the offsets of
// the labels object's contents, for HeaderLabels.
func appendStored(dst []byte, env *Envelope) (out []byte, labelsAt, labelsEnd int) {
	keys := make([]string, 0, len(env.Labels))
	for k := range env.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if need := len(env.Event.Data) + 320 + 48*len(keys); cap(dst)-len(dst) < need {
		dst = slices.Grow(dst, need) // one allocation, not a series
	}
	r := Renderer{labels: keys}
	return r.appendBody(dst, env)
}

// storedBody is an events record's value with its labels located.
type storedBody struct {
	value []byte
	at    int
	end   int
	pairs [][2]int // spans of `"key":"value"` in value, in stored order
}

// locate sets sb to value with the labels object's contents at [at, end),
// split into pairs; false when they are not `"k":"v",…`.
func locate(value []byte, at, end int, sb *storedBody) bool {
	pairs, ok := labelPairs(value, at, end)
	if ok {
		*sb = storedBody{value: value, at: at, end: end, pairs: pairs}
	}
	return ok
}

// labelPairs splits `"k":"v","k2":"v2"` into the spans of each pair.
func labelPairs(v []byte, at, end int) ([][2]int, bool) {
	var pairs [][2]int
	for i := at; i < end; {
		start := i
		var ok bool
		if i, ok = skipString(v, i, end); !ok || i >= end || v[i] != ':' {
			return nil, false
		}
		if i, ok = skipString(v, i+1, end); !ok {
			return nil, false
		}
		pairs = append(pairs, [2]int{start, i})
		if i < end {
			if v[i] != ',' {
				return nil, false
			}
			i++
		}
	}
	return pairs, true
}

// skipString returns the index after the JSON string starting at i.
func skipString(v []byte, i, end int) (int, bool) {
	if i >= end || v[i] != '"' {
		return 0, false
	}
	for i++; i < end; i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// project appends the webhook body for a connector whose label keys are
// r's: the stored body with only those labels. The result equals r.Append
// of the decoded envelope, byte for byte.
func (r *Renderer) project(dst []byte, sb *storedBody) []byte {
	dst = append(dst, sb.value[:sb.at]...)
	first := true
	for _, key := range r.quoted {
		for _, p := range sb.pairs {
			pair := sb.value[p[0]:p[1]]
			if len(pair) > len(key) && pair[len(key)] == ':' && bytes.Equal(pair[:len(key)], key) {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, pair...)
				break
			}
		}
	}
	return append(dst, sb.value[sb.end:]...)
}
