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

// maxSegments is how many segments sendvNoSignal is given at most.
const maxSegments = 64

// sendvNoSignal writes the segments segs, in order, as far as the socket
// takes them, one write per segment. It returns the bytes written and
// whether the socket took them all.
func sendvNoSignal(fd int, segs [][]byte) (int, bool, error) {
	written := 0
	for _, s := range segs {
		n, err := sendNoSignal(fd, s)
		written += n
		if err != nil {
			return written, false, err
		}
		if n < len(s) {
			return written, false, nil
		}
	}
	return written, true, nil
}
