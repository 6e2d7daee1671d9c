//go:build race

package engine

// raceEnabled: under -race, sync.Pool drops items at random, so pooled
// objects are reallocated and allocation counts do not mean anything.
const raceEnabled = true
