//go:build !linux

// Command idleconns measures the memory of idle connections from /proc:
// on this system it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench/idleconns runs on Linux only (it reads /proc)")
	os.Exit(2)
}
