// Package latest keeps the latest event of each type for every device, and
// sends them again on demand: DT's :sync.
//
// The writer ([Stage]) consumes <p>.events in the group <p>.latest and
// writes each event to the compacted topic <p>.latest, keyed
// deviceId/eventType, only when its event timestamp is newer than the one
// it knows for that key. [Sync] reads <p>.latest, keeps the newest record
// per key (the reader-side rule for what compaction has not yet removed),
// and writes, to one connector's topic, the latest event of each type the
// connector wants for every device seen in a window (12 h), with a fresh
// ingest time and the original eventId.
package latest
