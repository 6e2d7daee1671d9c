//go:build !race

package loop

const poolRace = false
