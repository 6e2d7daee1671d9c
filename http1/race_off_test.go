//go:build !race

package http1

const poolRace = false
