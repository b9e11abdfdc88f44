// Package envelope decodes and validates ingest request bodies into
// pipeline.Envelopes: Decode, with the Limits it enforces and the errors it
// returns. It is a hand-written scanner over the body's bytes, with no
// reflection and few allocations (BenchmarkDecode), and its error texts
// are part of the HTTP API (TestDecodeErrors pins them).
//
// A maintained tokenizer, encoding/json/jsontext, was measured instead and
// not taken: Go 1.26 has it only under GOEXPERIMENT=jsonv2, and its
// tokenizer alone, building nothing, costs 46 allocations and 2.5 KB for
// one envelope where Decode costs 14 and 1.2 KB in all.
//
// # The grammar it accepts
//
// JSON (RFC 8259) with these rules on top; "?" marks an optional member,
// and a null optional member counts as absent:
//
//	body      = ws ( array | lines ) ws
//	array     = "[" ws [ envelope *( ws "," ws envelope ) ] ws "]"
//	lines     = envelope *( ws-with-newline envelope )   ; NDJSON; one object is one line
//	envelope  = { "event": event, "labels"?: labels, "metadata"?: metadata }
//	event     = { "eventId"?: id, "targetName": target, "eventType": type,
//	              "data": any-json, "timestamp"?: rfc3339 }
//	labels    = { *( string: string ) }
//	metadata  = { "deviceType"?: string, "productNumber"?: string,
//	              "deviceId"?: string, "projectId"?: string }
//	id        = 1 to 64 of [A-Za-z0-9_-]
//	target    = "projects/" rid "/devices/" rid
//	rid       = 1 to 128 of [A-Za-z0-9_-]
//	type      = one of pipeline.EventTypes()
//
// The first non-space byte tells the shape: '[' an array, '{' one envelope
// or NDJSON (an envelope may span lines; blank lines and a final newline are
// allowed). With Content-Type application/x-ndjson an array is refused.
// Members may come in any order; an unknown or duplicate member is an error
// everywhere but inside data, which may be any JSON value up to the depth
// limit and is stored compact. A metadata deviceId or projectId, when given,
// must equal the one in targetName; both are derived from it anyway. A
// missing eventId gets a 20-character xid, a missing timestamp the ingest
// time in TimestampLayout; a timestamp not in UTC is converted.
//
// # Where things are
//
//   - decode.go: Decode, the body shapes (array, lines) and one item's
//     bounds; the envelopes are carved from blocks and their data compacted
//     into one arena, so a batch costs few allocations.
//   - fields.go: the envelope, labels and metadata objects.
//   - event.go: the event object and its members' rules.
//   - scan.go: the JSON scanner (members, strings, the extent of a value).
//   - limits.go: Limits, the sentinel errors and ItemError.
//
// To accept a new member, add its bit and case where its object is decoded
// (fields.go or event.go), its field to pipeline.Envelope, and a case to
// TestDecodeErrors for its rejections; ARCHITECTURE.md follows such a change
// through the rest of the pipeline.
package envelope
