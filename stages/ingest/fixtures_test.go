package ingest

// The request bodies of these tests; the envelope package's tests pin
// what each decodes to.
const (
	// fixture holds one valid event of each of the 19 types, as NDJSON.
	fixture = "envelope/testdata/ingest-one-of-each-type.ndjson"
	// minimal is a valid envelope with only the required fields.
	minimal = `{"event":{"targetName":"projects/p1/devices/d1","eventType":"touch","data":{"touch":{}}}}`
	// full is a valid envelope with every field.
	full = `{"event":{"eventId":"e1","targetName":"projects/p1/devices/d1","eventType":"temperature",` +
		`"data":{"temperature":{"value":21.5}},"timestamp":"2026-11-25T09:00:00.5Z"},` +
		`"labels":{"name":"Fridge","room":"R1"},"metadata":{"deviceType":"temperature","productNumber":"102081"}}`
)
