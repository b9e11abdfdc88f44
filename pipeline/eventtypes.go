package pipeline

// eventTypes lists the 19 event types a Data Connector knows, in DT's order.
var eventTypes = [...]string{
	"touch", "temperature", "objectPresent", "humidity", "objectPresentCount",
	"touchCount", "waterPresent", "networkStatus", "batteryStatus",
	"labelsChanged", "connectionStatus", "ethernetStatus", "cellularStatus",
	"co2", "pressure", "motion", "deskOccupancy", "contact", "probeWireStatus",
}

// KnownEventType reports whether t is one of EventTypes.
func KnownEventType(t string) bool {
	for _, k := range eventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// EventTypes returns the 19 event types a Data Connector knows, in DT's
// order; the slice is the caller's own.
func EventTypes() []string { return append([]string(nil), eventTypes[:]...) }

// ParseEventType returns the known event type b spells, as the string
// EventTypes holds (so that callers share it rather than allocate one),
// and false when b is none of them. It does not allocate.
func ParseEventType(b []byte) (string, bool) {
	for _, t := range eventTypes {
		if string(b) == t {
			return t, true
		}
	}
	return "", false
}
