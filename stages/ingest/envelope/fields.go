package envelope

import (
	"strconv"

	"github.com/hookpipe/hookpipe/pipeline"
)

// Bits of the fields seen in one object, to tell duplicates and absences.
const (
	fEvent uint8 = 1 << iota
	fLabels
	fMetadata
)

// Bits of the metadata fields seen.
const (
	fDeviceType uint8 = 1 << iota
	fProductNumber
	fDeviceID
	fProjectID
)

// clientMeta is what the client's metadata says about the device; ingest
// derives both ids from targetName and only checks these against them.
type clientMeta struct {
	deviceID, projectID string
	set                 uint8 // fDeviceID, fProjectID when given (not null)
}

// envelope decodes one envelope object into env; s is at its '{'.
func (d *decoder) envelope(s *scanner, env *pipeline.Envelope) error {
	s.pos++
	var seen uint8
	var cm clientMeta
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return d.failSyntax("", err)
		}
		if !ok {
			break
		}
		bit := envelopeField(key)
		if bit == 0 {
			return d.fail(fieldName("", key), "unknown field (an envelope has event, labels, metadata)")
		}
		if seen&bit != 0 {
			return d.fail(string(key), "duplicate field")
		}
		seen |= bit
		switch bit {
		case fEvent:
			err = d.event(s, &env.Event)
		case fLabels:
			err = d.labels(s, env)
		default:
			err = d.metadata(s, &env.Metadata, &cm)
		}
		if err != nil {
			return err
		}
	}
	if seen&fEvent == 0 {
		return d.fail("event", "required")
	}
	return d.derive(env, &cm)
}

// envelopeField returns the bit of an envelope key, 0 for an unknown one.
func envelopeField(key []byte) uint8 {
	switch string(key) {
	case "event":
		return fEvent
	case "labels":
		return fLabels
	case "metadata":
		return fMetadata
	}
	return 0
}

// derive sets the metadata ids from targetName, after checking those the
// client gave.
func (d *decoder) derive(env *pipeline.Envelope, cm *clientMeta) error {
	projectID, deviceID, _ := pipeline.ParseTargetName(env.Event.TargetName)
	if cm.set&fDeviceID != 0 && cm.deviceID != deviceID {
		return d.fail("metadata.deviceId", quote(cm.deviceID)+" does not match event.targetName's device "+quote(deviceID))
	}
	if cm.set&fProjectID != 0 && cm.projectID != projectID {
		return d.fail("metadata.projectId", quote(cm.projectID)+" does not match event.targetName's project "+quote(projectID))
	}
	env.Metadata.DeviceID, env.Metadata.ProjectID = deviceID, projectID
	return nil
}

// labels decodes the labels object, strings only.
func (d *decoder) labels(s *scanner, env *pipeline.Envelope) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return d.fail("labels", "must be an object of strings")
	}
	s.pos++
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return d.failSyntax("labels", err)
		}
		if !ok {
			return nil
		}
		if s.peek() != '"' {
			return d.fail(fieldName("labels.", key), "must be a string")
		}
		v, err := s.str()
		if err != nil {
			return d.failSyntax(fieldName("labels.", key), err)
		}
		if env.Labels == nil {
			env.Labels = make(map[string]string, 4)
		}
		if _, dup := env.Labels[string(key)]; dup {
			return d.fail(fieldName("labels.", key), "duplicate field")
		}
		env.Labels[string(key)] = v
	}
}

// metadata decodes the metadata object: deviceType and productNumber are
// kept, deviceId and projectId are only checked (see derive).
func (d *decoder) metadata(s *scanner, m *pipeline.Metadata, cm *clientMeta) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return d.fail("metadata", "must be an object")
	}
	s.pos++
	var seen uint8
	for first := true; ; first = false {
		key, ok, err := s.member(first)
		if err != nil {
			return d.failSyntax("metadata", err)
		}
		if !ok {
			return nil
		}
		bit, field, dst := metadataField(key, m, cm)
		if bit == 0 {
			return d.fail(fieldName("metadata.", key), "unknown field (metadata has deviceType, productNumber, deviceId, projectId)")
		}
		if seen&bit != 0 {
			return d.fail(field, "duplicate field")
		}
		seen |= bit
		b, ok, err := d.stringValue(s, field, false)
		if err != nil {
			return err
		}
		if ok {
			*dst = string(b)
			cm.set |= bit & (fDeviceID | fProjectID)
		}
	}
}

// metadataField returns the bit, path and destination of a metadata key,
// bit 0 for an unknown one.
func metadataField(key []byte, m *pipeline.Metadata, cm *clientMeta) (uint8, string, *string) {
	switch string(key) {
	case "deviceType":
		return fDeviceType, "metadata.deviceType", &m.DeviceType
	case "productNumber":
		return fProductNumber, "metadata.productNumber", &m.ProductNumber
	case "deviceId":
		return fDeviceID, "metadata.deviceId", &cm.deviceID
	case "projectId":
		return fProjectID, "metadata.projectId", &cm.projectID
	}
	return 0, "", nil
}

// isIDByte reports whether c may appear in an eventId.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// maxQuoted caps the bytes of client input echoed in an error message.
const maxQuoted = 64

// quote quotes client input for an error message, cut at maxQuoted bytes.
func quote[T string | []byte](v T) string {
	if len(v) > maxQuoted {
		return strconv.Quote(string(v[:maxQuoted])) + "..."
	}
	return strconv.Quote(string(v))
}

// fieldName joins prefix and a client-given key into a field path,
// quoting the key unless it is a plain name.
func fieldName(prefix string, key []byte) string {
	if len(key) == 0 || len(key) > maxQuoted {
		return prefix + quote(key)
	}
	for _, c := range key {
		if !isIDByte(c) && c != '.' {
			return prefix + quote(key)
		}
	}
	return prefix + string(key)
}
