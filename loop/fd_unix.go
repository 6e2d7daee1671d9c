//go:build !windows && !linux

package loop

import (
	"syscall"
)

// acceptNonBlock accepts a connection as a non-blocking, close-on-exec
// socket.
func acceptNonBlock(lfd int, isTCP bool) (int, peerAddr, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	var pa peerAddr
	fd, sa, err := syscall.Accept(lfd)
	if err != nil {
		return -1, pa, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, pa, err
	}
	pa.set(sa, isTCP)
	return fd, pa, nil
}

// readNoBlock reads from the non-blocking socket fd: 0 bytes and a nil
// error is EOF.
func readNoBlock(fd int, b []byte) (int, error) {
	n, err := syscall.Read(fd, b)
	if err != nil {
		return -1, err
	}
	return n, nil
}

// dupNonBlock duplicates fd (close-on-exec, non-blocking).
func dupNonBlock(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(nfd)
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return -1, err
	}
	return nfd, nil
}
