package health

import "time"

// State is a connector's state, as GET /v1/connectors shows it and the
// hookpipe_connector_state metric labels it.
type State string

// The connector states.
const (
	// StateActive delivers normally.
	StateActive State = "ACTIVE"
	// StateCircuitOpen sends only one probe, at ReopensAt.
	StateCircuitOpen State = "CIRCUIT_OPEN"
	// StateThrottled sends nothing new until Until (a Retry-After).
	StateThrottled State = "THROTTLED"
	// StateUserDisabled sends nothing: disabled by the API, the CLI or
	// HCL's disabled = true. Its events wait in Kafka (up to max_age).
	StateUserDisabled State = "USER_DISABLED"
	// StateSystemDisabled sends nothing: hookpipe disabled it after a 410
	// or after disable_after without a 2xx. :enable clears it.
	StateSystemDisabled State = "SYSTEM_DISABLED"
)

// States lists every state, for metrics that export one series each.
func States() []State {
	return []State{StateActive, StateCircuitOpen, StateThrottled, StateUserDisabled, StateSystemDisabled}
}

// Status is a connector's state in this process with its details.
type Status struct {
	State State
	// ReopensAt is when CIRCUIT_OPEN sends its next probe.
	ReopensAt time.Time
	// Until is when THROTTLED may send again.
	Until time.Time
	// Reason says why a connector is disabled.
	Reason string
}

// Admin is the cluster-wide part of a connector's state, the value kept
// in the <p>.state topic: ACTIVE, USER_DISABLED or SYSTEM_DISABLED.
type Admin struct {
	State  State     `json:"state"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Disabled reports whether a is one of the disabled states.
func (a Admin) Disabled() bool {
	return a.State == StateUserDisabled || a.State == StateSystemDisabled
}
