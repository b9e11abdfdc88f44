package integration

import (
	"sync/atomic"
	"testing"
	"time"
)

// A reload of an ordered connector while one of its devices is held by a
// failing event (retried in place, holding no request slot) and events
// flow: first another attribute changes (max_in_flight), then ordering
// becomes "none". Each time the held device's events stay held, none is
// stranded: once the endpoint heals, every event is delivered, each
// device's first deliveries are in order while the connector is ordered,
// and the deliver group commits to the end of the connector topic.
func TestReloadOrderedConnectorWithHeldDevice(t *testing.T) {
	e := newEnv(t)
	var heal0, heal1 atomic.Bool
	rc := newDeviceReceiver(t, func(id string, _ int) bool {
		return id == "o-dev0-5" && !heal0.Load() || id == "o-dev1-25" && !heal1.Load()
	})
	ordered := func(maxInFlight, ordering string) string {
		return `url = "` + rc.URL + `"
  ordering = "` + ordering + `"
  max_in_flight = ` + maxInFlight + `
  retry {
    backoff = ["100ms", "300ms"]
  }`
	}
	e.connector("ordered", ordered("16", "device"))
	p := e.spawn("hookpipe", suiteBroker.addrs)
	const devices = 8
	post := func(from, to int) {
		for round := from; round < to; round++ {
			postEvents(t, p.addr, deviceEvents(devices, round))
		}
	}
	attempts := func(id string) int {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return rc.attempts[id]
	}
	post(0, 10)
	waitFor(t, time.Minute, "dev0 held by its event 5", func() bool { return attempts("o-dev0-5") >= 2 })
	v := configOf(t, p)
	e.connector("ordered", ordered("12", "device"))
	v = reloadTo(t, p, v.Hash)
	post(10, 20)
	waitFor(t, time.Minute, "the other devices' events", func() bool { return rc.count() >= (devices-1)*20+5 })
	heal0.Store(true)
	waitFor(t, time.Minute, "every event of the first 20 rounds", func() bool { return rc.count() == devices*20 })
	for dev, seqs := range rc.firstDeliveries() {
		for i, s := range seqs {
			if s != i {
				t.Fatalf("%s first deliveries %v across the reload, want 0..19 in order", dev, seqs)
			}
		}
	}
	post(20, 30)
	waitFor(t, time.Minute, "dev1 held by its event 25", func() bool { return attempts("o-dev1-25") >= 2 })
	e.connector("ordered", ordered("12", "none"))
	reloadTo(t, p, v.Hash)
	post(30, 40)
	heal1.Store(true)
	waitFor(t, 2*time.Minute, "every event delivered", func() bool { return rc.count() == devices*40 })
	waitCommitted(t, e, e.topics().DeliverGroup(), e.topics().Connector("ordered"))
}
