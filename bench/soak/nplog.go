//go:build !windows

package main

import (
	"io"

	"github.com/cloudwego/netpoll"
)

// captureNetpollLog sends netpoll's own log lines to w.
func captureNetpollLog(w io.Writer) { netpoll.SetLoggerOutput(w) }
