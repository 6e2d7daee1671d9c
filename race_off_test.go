//go:build !race

package h2loop

const raceEnabled = false
