//go:build race

package h2loop_test

// raceDetector: under -race the heap holds the detector's state for every
// goroutine that ever ran, so heap bounds are checked without -race.
const raceDetector = true
