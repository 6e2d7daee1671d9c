//go:build !linux

// Command h2bench is a load generator for HTTP/2 and HTTP/1.1 servers. Its
// event loop uses Linux's epoll, timerfd and eventfd: on this system it
// only says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "h2bench runs on Linux only (it drives connections with epoll, timerfd and eventfd)")
	os.Exit(2)
}
