package pipeline

import (
	"slices"
	"unicode/utf8"
)

// Renderer renders webhook bodies for one connector. It holds the
// connector's label keys, sorted once, and is safe for concurrent use.
type Renderer struct {
	labels []string
	quoted [][]byte // labels as JSON strings, for project
}

// NewRenderer returns a Renderer that projects labels to the given keys.
func NewRenderer(labelKeys []string) *Renderer {
	keys := slices.Clone(labelKeys)
	slices.Sort(keys)
	r := &Renderer{labels: slices.Compact(keys)}
	for _, k := range r.labels {
		r.quoted = append(r.quoted, appendString(nil, k))
	}
	return r
}

// Append appends the webhook body for env to dst and returns it. The body
// is DT's layout, byte for byte:
//
//	{"event":{"eventId","targetName","eventType","data","timestamp"},
//	 "labels":{only the renderer's keys the device has, sorted},
//	 "metadata":{"deviceId","projectId","deviceType","productNumber"}}
//
// compact, with strings escaped as encoding/json escapes them. env.Event.Data
// must be valid compact JSON (ingest guarantees it).
func (r *Renderer) Append(dst []byte, env *Envelope) []byte {
	out, _, _ := r.appendBody(dst, env)
	return out
}

// appendBody is Append that also returns where the labels object's
// contents start and end in the result.
func (r *Renderer) appendBody(dst []byte, env *Envelope) (out []byte, labelsAt, labelsEnd int) {
	e := &env.Event
	dst = append(dst, `{"event":{"eventId":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"targetName":`...)
	dst = appendString(dst, e.TargetName)
	dst = append(dst, `,"eventType":`...)
	dst = appendString(dst, e.EventType)
	dst = append(dst, `,"data":`...)
	if len(e.Data) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Data...)
	}
	dst = append(dst, `,"timestamp":`...)
	dst = appendString(dst, e.Timestamp)
	dst = append(dst, `},"labels":{`...)
	labelsAt = len(dst)
	dst = r.appendLabels(dst, env.Labels)
	labelsEnd = len(dst)
	m := &env.Metadata
	dst = append(dst, `},"metadata":{"deviceId":`...)
	dst = appendString(dst, m.DeviceID)
	dst = append(dst, `,"projectId":`...)
	dst = appendString(dst, m.ProjectID)
	dst = append(dst, `,"deviceType":`...)
	dst = appendString(dst, m.DeviceType)
	dst = append(dst, `,"productNumber":`...)
	dst = appendString(dst, m.ProductNumber)
	return append(dst, "}}"...), labelsAt, labelsEnd
}

func (r *Renderer) appendLabels(dst []byte, labels map[string]string) []byte {
	first := true
	for _, k := range r.labels {
		v, ok := labels[k]
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, k)
		dst = append(dst, ':')
		dst = appendString(dst, v)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped exactly as
// encoding/json.Marshal escapes it (HTML-safe, invalid UTF-8 replaced).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedByte(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
