package main

import "io"

// captureNetpollLog does nothing: there is no netpoll reactor here.
func captureNetpollLog(w io.Writer) {}
