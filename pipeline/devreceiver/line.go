package devreceiver

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The line printed for each request: parsing the body and summarising its
// event.

// maxDataLen is how much of an event's compact data JSON a line shows.
const maxDataLen = 80

// event is the part of a webhook body a line shows.
type event struct {
	Event struct {
		EventID    string          `json:"eventId"`
		TargetName string          `json:"targetName"`
		EventType  string          `json:"eventType"`
		Data       json.RawMessage `json:"data"`
	} `json:"event"`
	Labels   json.RawMessage `json:"labels"`
	Metadata struct {
		DeviceID string `json:"deviceId"`
	} `json:"metadata"`
}

// parse decodes body as a webhook body.
func parse(body []byte) (event, bool) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return event{}, false
	}
	return ev, true
}

// formatLine renders the line for body with the given status and state.
func formatLine(now time.Time, status, state string, body []byte) string {
	ev, ok := parse(body)
	return formatParsed(now, status, state, ev, ok, len(body))
}

// formatParsed renders one line: time, status, signature state, then the
// event (type, device, id, data summary, labels) or a note that the body
// did not parse.
func formatParsed(now time.Time, status, state string, ev event, ok bool, n int) string {
	fields := []string{now.UTC().Format(time.RFC3339), status, state}
	if !ok {
		fields = append(fields, "unparsable body ("+strconv.Itoa(n)+" bytes)")
		return strings.Join(fields, "  ")
	}
	e := &ev.Event
	fields = append(fields,
		orDash(e.EventType),
		orDash(deviceID(ev)),
		"eventId="+orDash(e.EventID),
		summary(e.EventType, e.Data),
		"labels="+compact(ev.Labels, "{}"),
	)
	return strings.Join(fields, "  ")
}

// deviceID is metadata.deviceId, or the last segment of targetName.
func deviceID(ev event) string {
	if ev.Metadata.DeviceID != "" {
		return ev.Metadata.DeviceID
	}
	_, id, _ := strings.Cut(ev.Event.TargetName, "/devices/")
	return id
}

// summaryKeys lists the fields of data.<eventType> worth a line for the
// measurement types; nil for the others.
func summaryKeys(eventType string) []string {
	switch eventType {
	case "temperature":
		return []string{"value"}
	case "humidity":
		return []string{"relativeHumidity", "temperature"}
	case "co2":
		return []string{"ppm"}
	case "pressure":
		return []string{"pascal"}
	}
	return nil
}

// summary renders the measured value(s) of a measurement event, or the
// compact data JSON truncated to maxDataLen characters.
func summary(eventType string, data json.RawMessage) string {
	if keys := summaryKeys(eventType); keys != nil {
		var outer map[string]map[string]json.RawMessage
		if json.Unmarshal(data, &outer) == nil && outer[eventType] != nil {
			var parts []string
			for _, k := range keys {
				if v, ok := outer[eventType][k]; ok {
					parts = append(parts, k+"="+string(v))
				}
			}
			if len(parts) > 0 {
				return strings.Join(parts, "  ")
			}
		}
	}
	return "data=" + truncate(compact(data, "null"), maxDataLen)
}

// compact returns raw as compact JSON, or empty when raw is absent.
func compact(raw json.RawMessage, empty string) string {
	if len(raw) == 0 {
		return empty
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// truncate shortens s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// orDash stands in "-" for an empty field.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
