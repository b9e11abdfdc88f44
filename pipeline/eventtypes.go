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
