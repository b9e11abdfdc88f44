package envelope

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeErrors pins the exact text of every kind of rejection: each
// names the failing item (0-based) and the dotted path of the field, so
// that a client can fix its request without guessing.
func TestDecodeErrors(t *testing.T) {
	const (
		tn   = `"targetName":"projects/p/devices/d"`
		et   = `"eventType":"touch"`
		data = `"data":{"touch":{}}`
		ok   = tn + "," + et + "," + data
	)
	tests := []struct {
		name, body, contentType, want string
	}{
		{"empty", "", "", "no events"},
		{"blank", " \n\r\n ", "application/x-ndjson", "no events"},
		{"empty array", " [ ] ", "", "no events"},
		{"not json", "hello", "", "body must be an envelope object, a JSON array of envelopes, or NDJSON"},
		{"array as ndjson", "[" + minimal + "]", "application/x-ndjson", "an application/x-ndjson body holds one envelope per line, not an array"},
		{"array item not object", "[" + minimal + ",42]", "", "item 1: must be a JSON object"},
		{"array trailing comma", "[" + minimal + ",]", "", "item 1: must be a JSON object"},
		{"array unclosed", "[" + minimal, "", "item 1: invalid JSON at byte 90: unexpected end of input"},
		{"array bad separator", "[" + minimal + ";" + minimal + "]", "", `item 1: invalid JSON at byte 90: expected ',' or ']' after an item, found ';'`},
		{"nul body", "\x00", "", "body must be an envelope object, a JSON array of envelopes, or NDJSON"},
		{"nul after array", "[" + minimal + "]\x00", "", `invalid JSON at byte 91: unexpected data after the array, found '\x00'`},
		{"nul after object", minimal + "\x00", "", `item 1: invalid JSON at byte 89: unexpected data after an envelope, found '\x00'`},
		{"after array", "[" + minimal + "] x", "", `invalid JSON at byte 92: unexpected data after the array, found 'x'`},
		{"same line", minimal + " " + minimal, "", "item 1: envelopes must be separated by a newline"},
		{"after object", minimal + "}", "", `item 1: invalid JSON at byte 89: unexpected data after an envelope, found '}'`},
		{"ndjson bad line", minimal + "\n" + minimal + "\nnull\n", "", "item 2: must be a JSON object"},
		{"unterminated", `{"event":{` + tn, "", "item 0: invalid JSON at byte 45: unexpected end of input"},
		{"missing colon", `{"event"{}}`, "", `item 0: invalid JSON at byte 8: expected ':' after a key, found '{'`},
		{"bad key", `{event:{}}`, "", `item 0: invalid JSON at byte 1: expected a string key, found 'e'`},
		{"trailing comma", withEvent(ok + ","), "", `item 0: event: invalid JSON at byte 86: expected a string key, found '}'`},
		{"mismatched bracket", `{"event":{` + ok + `]}`, "", `item 0: event: invalid JSON at byte 85: expected ',' or '}', found ']'`},
		{"bad escape", withEvent(tn + `,"eventType":"t\x"`), "", `item 0: event.eventType: invalid JSON at byte 58: invalid string literal`},
		{"control char", withEvent(tn + ",\"eventType\":\"t\tx\""), "", `item 0: event.eventType: invalid JSON at byte 58: invalid string literal`},
		{"invalid utf8", `{"labels":{"a":"` + "\xff" + `"}}`, "", `item 0: labels.a: invalid JSON at byte 15: invalid UTF-8 in string`},
		{"event missing", `{"labels":{}}`, "", "item 0: event: required"},
		{"event null", `{"event":null}`, "", "item 0: event: required"},
		{"event not object", `{"event":[]}`, "", "item 0: event: must be an object"},
		{"unknown top-level", `{"evnt":{}}`, "", "item 0: evnt: unknown field (an envelope has event, labels, metadata)"},
		{"unknown odd key", `{"a b":{}}`, "", `item 0: "a b": unknown field (an envelope has event, labels, metadata)`},
		{"duplicate event", `{"event":{` + ok + `},"event":{` + ok + `}}`, "", "item 0: event: duplicate field"},
		{"unknown event key", withEvent(ok + `,"eventTyp":"touch"`), "", "item 0: event.eventTyp: unknown field (an event has eventId, targetName, eventType, data, timestamp)"},
		{"duplicate event key", withEvent(ok + `,` + et), "", "item 0: event.eventType: duplicate field"},
		{"targetName missing", withEvent(et + "," + data), "", "item 0: event.targetName: required"},
		{"targetName null", withEvent(`"targetName":null,` + et + "," + data), "", "item 0: event.targetName: required"},
		{"targetName number", withEvent(`"targetName":7,` + et + "," + data), "", "item 0: event.targetName: must be a string"},
		{"targetName bad", withEvent(`"targetName":"projects/p/things/d",` + et + "," + data), "", "item 0: event.targetName: must be projects/<projectId>/devices/<deviceId>"},
		{"targetName empty id", withEvent(`"targetName":"projects//devices/d",` + et + "," + data), "", "item 0: event.targetName: must be projects/<projectId>/devices/<deviceId>"},
		{"eventType missing", withEvent(tn + "," + data), "", "item 0: event.eventType: required"},
		{"eventType unknown", "[" + minimal + "," + minimal + "," + minimal + "," + withEvent(tn+`,"eventType":"tempx",`+data) + "]", "", `item 3: event.eventType: unknown event type "tempx"`},
		{"eventType case", withEvent(tn + `,"eventType":"Touch",` + data), "", `item 0: event.eventType: unknown event type "Touch"`},
		{"eventType long", withEvent(tn + `,"eventType":"` + strings.Repeat("x", 100) + `",` + data), "", `item 0: event.eventType: unknown event type "` + strings.Repeat("x", 64) + `"...`},
		{"data missing", withEvent(tn + "," + et), "", "item 0: event.data: required"},
		{"data null", withEvent(tn + "," + et + `,"data":null`), "", "item 0: event.data: required"},
		{"data array", withEvent(tn + "," + et + `,"data":[]`), "", "item 0: event.data: must be a JSON object"},
		{"data string", withEvent(tn + "," + et + `,"data":"{}"`), "", "item 0: event.data: must be a JSON object"},
		{"data invalid", withEvent(tn + "," + et + `,"data":{"a":tru}`), "", "item 0: event.data: invalid JSON at byte 81: invalid character '}' in literal true (expecting 'e')"},
		{"data unbalanced", withEvent(tn + "," + et + `,"data":{"a":[1}}`), "", "item 0: event.data: invalid JSON at byte 80: invalid character '}' after array element"},
		{"data invalid utf8", withEvent(tn + "," + et + `,"data":{"a":"` + "\xc3" + `"}`), "", "item 0: event.data: invalid UTF-8"},
		{"eventId empty", withEvent(`"eventId":"",` + ok), "", "item 0: event.eventId: must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"},
		{"eventId long", withEvent(`"eventId":"` + strings.Repeat("a", 65) + `",` + ok), "", "item 0: event.eventId: must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"},
		{"eventId char", withEvent(`"eventId":"a.b",` + ok), "", "item 0: event.eventId: must be 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"},
		{"eventId number", withEvent(`"eventId":12,` + ok), "", "item 0: event.eventId: must be a string"},
		{"timestamp bad", withEvent(ok + `,"timestamp":"yesterday"`), "", `item 0: event.timestamp: must be an RFC 3339 time such as "2006-01-02T15:04:05.000000Z"`},
		{"timestamp no zone", withEvent(ok + `,"timestamp":"2026-11-25T10:00:00"`), "", `item 0: event.timestamp: must be an RFC 3339 time such as "2006-01-02T15:04:05.000000Z"`},
		{"labels array", `{"event":{` + ok + `},"labels":[]}`, "", "item 0: labels: must be an object of strings"},
		{"labels number", `{"event":{` + ok + `},"labels":{"name":"a","floor":3}}`, "", "item 0: labels.floor: must be a string"},
		{"labels null value", `{"event":{` + ok + `},"labels":{"name":null}}`, "", "item 0: labels.name: must be a string"},
		{"labels duplicate", `{"event":{` + ok + `},"labels":{"a":"1","a":"2"}}`, "", "item 0: labels.a: duplicate field"},
		{"metadata string", `{"event":{` + ok + `},"metadata":"x"}`, "", "item 0: metadata: must be an object"},
		{"metadata unknown", `{"event":{` + ok + `},"metadata":{"devicetype":"x"}}`, "", "item 0: metadata.devicetype: unknown field (metadata has deviceType, productNumber, deviceId, projectId)"},
		{"metadata number", `{"event":{` + ok + `},"metadata":{"productNumber":102081}}`, "", "item 0: metadata.productNumber: must be a string"},
		{"metadata deviceId", `{"metadata":{"deviceId":"other"},"event":{` + ok + `}}`, "", `item 0: metadata.deviceId: "other" does not match event.targetName's device "d"`},
		{"metadata projectId", `{"event":{` + ok + `},"metadata":{"projectId":"q"}}`, "", `item 0: metadata.projectId: "q" does not match event.targetName's project "p"`},
		{"first failing item wins", minimal + "\n" + withEvent(tn+","+data) + "\n" + withEvent(et+","+data), "", "item 1: event.eventType: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs, err := Decode([]byte(tt.body), tt.contentType, Limits{}, testNow)
			if err == nil {
				t.Fatalf("Decode accepted %d envelopes, want error %q", len(envs), tt.want)
			}
			if envs != nil {
				t.Errorf("Decode returned %d envelopes with its error", len(envs))
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDecodeLimits pins the limits: each is inclusive (a request exactly
// at the limit passes), body size and event count map to the 413 sentinels,
// envelope size and depth to an *ItemError naming the item.
func TestDecodeLimits(t *testing.T) {
	deep := func(levels int) string { // data nested so that the envelope has the given depth
		return withEvent(`"targetName":"projects/p/devices/d","eventType":"touch","data":` +
			strings.Repeat(`{"a":`, levels-3) + "{}" + strings.Repeat("}", levels-3))
	}
	lines := func(n int) string { return strings.Repeat(minimal+"\n", n) }
	tests := []struct {
		name    string
		body    string
		lim     Limits
		want    string
		wantIs  error
		wantIdx int
	}{
		{"body at limit", minimal, Limits{MaxBodyBytes: int64(len(minimal))}, "", nil, 0},
		{"body over limit", minimal, Limits{MaxBodyBytes: int64(len(minimal) - 1)}, "request body larger than 88 bytes", ErrBodyTooLarge, 0},
		{"default body limit", strings.Repeat(" ", DefaultMaxBodyBytes) + minimal, Limits{}, "request body larger than 4194304 bytes", ErrBodyTooLarge, 0},
		{"events at limit", lines(3), Limits{MaxEvents: 3}, "", nil, 0},
		{"events over limit", lines(4), Limits{MaxEvents: 3}, "more than 3 events in one request", ErrTooManyEvents, 0},
		{"default events limit", "[" + strings.TrimSuffix(strings.Repeat(minimal+",", DefaultMaxEvents+1), ",") + "]", Limits{}, "more than 1000 events in one request", ErrTooManyEvents, 0},
		{"event at size limit", minimal, Limits{MaxEventBytes: len(minimal)}, "", nil, 0},
		{"event over size limit", minimal + "\n" + minimal + "  ", Limits{MaxEventBytes: len(minimal) - 1}, "item 0: larger than 88 bytes", nil, 0},
		{"second event too large", minimal + "\n" + strings.Replace(minimal, "{}", `{"x":"`+strings.Repeat("y", DefaultMaxEventBytes)+`"}`, 1), Limits{}, "item 1: larger than 65536 bytes", nil, 1},
		{"depth at limit", deep(5), Limits{MaxDepth: 5}, "", nil, 0},
		{"depth over limit", deep(6), Limits{MaxDepth: 5}, "item 0: nested deeper than 5 levels", nil, 0},
		{"default depth", "[" + minimal + "," + deep(33) + "]", Limits{}, "item 1: nested deeper than 32 levels", nil, 1},
		{"depth counts arrays", withEvent(`"data":{"a":[[[[[]]]]]}`), Limits{MaxDepth: 7}, "item 0: nested deeper than 7 levels", nil, 0},
		{"depth ignores strings", withEvent(`"targetName":"projects/p/devices/d","eventType":"touch","data":{"a":"[[[[{{{{"}`), Limits{MaxDepth: 3}, "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body), "", tt.lim, testNow)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v, want %s", err, tt.want)
			}
			var ie *ItemError
			switch {
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			case tt.wantIs == nil && (!errors.As(err, &ie) || ie.Index != tt.wantIdx):
				t.Errorf("error %v is not an *ItemError of item %d", err, tt.wantIdx)
			}
		})
	}
}
