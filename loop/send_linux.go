package loop

import (
	"syscall"
	"unsafe"
)

// sendNoSignal writes as much of b to the non-blocking socket fd as it
// takes, with send(MSG_NOSIGNAL): a peer that is gone is an EPIPE, never a
// SIGPIPE, whatever the process's signal disposition.
func sendNoSignal(fd int, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n),
			syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			n += int(r)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return n, nil
		default:
			return n, e
		}
	}
	return n, nil
}

// noSigPipe prepares fd for sendNoSignal: nothing to do where send takes
// MSG_NOSIGNAL.
func noSigPipe(fd int) {}
