//go:build !linux

// Command grpcbench compares gRPC servers side by side. It pins processes
// with taskset and reads /proc: on this system it only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench/grpcbench runs on Linux only (taskset, /proc)")
	os.Exit(2)
}
