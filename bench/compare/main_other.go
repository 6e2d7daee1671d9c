//go:build !linux

// Command compare runs the side-by-side comparisons of PERF.md. It pins
// processes with taskset and reads /proc: on this system it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench/compare runs on Linux only (taskset, /proc, perf)")
	os.Exit(2)
}
