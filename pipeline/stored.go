package pipeline

import (
	"bytes"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
)

// HeaderLabels locates the labels object in an events record's value:
// "start,end", the byte offsets of its contents between the braces. It
// lets fanout build each connector's body by splicing, without parsing.
const HeaderLabels = "hookpipe-labels"

// AppendStored appends env as ingest stores it on the events topic: DT's
// body layout with every label of the device, keys sorted. It returns the
// offsets of the labels object's contents, for HeaderLabels. The value is
// an ordinary envelope to any other reader.
func AppendStored(dst []byte, env *Envelope) (out []byte, labelsAt, labelsEnd int) {
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

// LabelsHeader encodes the offsets AppendStored returned.
func LabelsHeader(at, end int) kgo.RecordHeader {
	v := strconv.AppendInt(nil, int64(at), 10)
	v = append(v, ',')
	return kgo.RecordHeader{Key: HeaderLabels, Value: strconv.AppendInt(v, int64(end), 10)}
}

// StoredBody is an events record's value with its labels located.
type StoredBody struct {
	value []byte
	at    int
	end   int
	pairs [][2]int // spans of `"key":"value"` in value, in stored order
}

// ParseStored locates the labels of an events record written by ingest.
// ok is false when the record lacks a valid HeaderLabels (another writer);
// the caller then decodes the value as an Envelope.
func ParseStored(r *kgo.Record) (sb StoredBody, ok bool) {
	for _, h := range r.Headers {
		if h.Key == HeaderLabels {
			sb.value = r.Value
			sb.at, sb.end, ok = parseSpan(h.Value, r.Value)
			break
		}
	}
	if !ok {
		return StoredBody{}, false
	}
	sb.pairs, ok = labelPairs(sb.value, sb.at, sb.end)
	return sb, ok
}

func parseSpan(h, value []byte) (at, end int, ok bool) {
	a, b, found := bytes.Cut(h, []byte{','})
	if !found {
		return 0, 0, false
	}
	at, err1 := strconv.Atoi(string(a))
	end, err2 := strconv.Atoi(string(b))
	ok = err1 == nil && err2 == nil && at > 0 && at <= end && end < len(value) &&
		value[at-1] == '{' && value[end] == '}'
	return at, end, ok
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

// Project appends the webhook body for a connector whose label keys are
// given as r's: the stored body with only those labels. The result equals
// r.Append of the decoded envelope, byte for byte.
func (r *Renderer) Project(dst []byte, sb *StoredBody) []byte {
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
