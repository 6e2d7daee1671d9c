//go:build race

package http1

// poolRace: under -race sync.Pool drops items at random, so allocation
// counts of pooled buffers mean nothing.
const poolRace = true
