package pipeline

// EventTypes lists the 19 event types a Data Connector knows, in DT's order.
var EventTypes = [...]string{
	"touch", "temperature", "objectPresent", "humidity", "objectPresentCount",
	"touchCount", "waterPresent", "networkStatus", "batteryStatus",
	"labelsChanged", "connectionStatus", "ethernetStatus", "cellularStatus",
	"co2", "pressure", "motion", "deskOccupancy", "contact", "probeWireStatus",
}

// KnownEventType reports whether t is one of EventTypes.
func KnownEventType(t string) bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}
