//go:build race

package main

// raceEnabled scales the load down and the latency bounds up under -race.
const raceEnabled = true
