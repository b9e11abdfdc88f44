//go:build !race

package signature

// raceEnabled is false without the race detector.
const raceEnabled = false
