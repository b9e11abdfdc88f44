package pipeline

import (
	"encoding/json"
	"errors"
	"strings"
)

// Envelope is one sensor event as ingest accepts it and as it is stored on
// the events topic: the event, the device's labels and its metadata.
type Envelope struct {
	Event    Event             `json:"event"`
	Labels   map[string]string `json:"labels,omitempty"`
	Metadata Metadata          `json:"metadata"`
}

// Event is the event object of DT's webhook body.
type Event struct {
	// EventID is a 20-character xid-style id, unique per event.
	EventID string `json:"eventId"`
	// TargetName is projects/<projectId>/devices/<deviceId>.
	TargetName string `json:"targetName"`
	// EventType is one of EventTypes.
	EventType string `json:"eventType"`
	// Data is the event's payload, compact JSON.
	Data json.RawMessage `json:"data"`
	// Timestamp is RFC 3339 in UTC with fractional seconds.
	Timestamp string `json:"timestamp"`
}

// Metadata is the metadata object of DT's webhook body. DeviceID and
// ProjectID are derived from Event.TargetName at ingest.
type Metadata struct {
	DeviceID      string `json:"deviceId"`
	ProjectID     string `json:"projectId"`
	DeviceType    string `json:"deviceType"`
	ProductNumber string `json:"productNumber"`
}

// ErrTargetName is returned by ParseTargetName for a malformed target name.
var ErrTargetName = errors.New("must be projects/<projectId>/devices/<deviceId>")

// ParseTargetName splits projects/<projectId>/devices/<deviceId>.
func ParseTargetName(s string) (projectID, deviceID string, err error) {
	rest, ok := strings.CutPrefix(s, "projects/")
	if !ok {
		return "", "", ErrTargetName
	}
	projectID, deviceID, ok = strings.Cut(rest, "/devices/")
	if !ok || !validID(projectID) || !validID(deviceID) {
		return "", "", ErrTargetName
	}
	return projectID, deviceID, nil
}

// validID accepts the characters of DT's resource ids: letters, digits,
// '-' and '_', 1 to 128 of them.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
