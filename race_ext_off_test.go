//go:build !race

package h2loop_test

const raceDetector = false
