//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package h2loop

import "syscall"

const reusePortSupported = false

func reusePort(network, address string, c syscall.RawConn) error { return ErrReusePortUnsupported }
