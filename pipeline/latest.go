package pipeline

// The latest-values topic, <p>.latest, behind DT's :sync: compacted, keyed
// deviceId/eventType, one record per device and event type, holding the
// events record with the newest event timestamp.

// Latest is the compacted latest-values topic, <p>.latest.
func (t Topics) Latest() string { return t.Prefix + ".latest" }

// LatestGroup is the consumer group of the writer that fills <p>.latest
// from <p>.events.
func (t Topics) LatestGroup() string { return t.Prefix + ".latest" }

// LatestKey is the <p>.latest key of an event: deviceId/eventType.
func LatestKey(deviceID, eventType string) string { return deviceID + "/" + eventType }
