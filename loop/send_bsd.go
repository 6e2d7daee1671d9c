//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package loop

import "syscall"

// sendNoSignal writes as much of b to the non-blocking socket fd as it
// takes. These systems have no MSG_NOSIGNAL: the socket carries
// SO_NOSIGPIPE instead (noSigPipe), so a peer that is gone is an EPIPE.
func sendNoSignal(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		r, err := syscall.Write(fd, b[n:])
		switch err {
		case nil:
			n += r
		case syscall.EINTR:
		case syscall.EAGAIN:
			return n, nil
		default:
			return n, err
		}
	}
	return n, nil
}

// noSigPipe sets SO_NOSIGPIPE on fd, for sendNoSignal.
func noSigPipe(fd int) { syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_NOSIGPIPE, 1) }
