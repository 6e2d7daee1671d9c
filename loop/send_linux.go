package loop

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// maxSegments is how many segments one gathered write takes at most.
const maxSegments = 256

// sendvNoSignal writes the segments segs, in order, to the non-blocking
// socket fd with one sendmsg(MSG_NOSIGNAL) system call per maxSegments
// segments (writev without SIGPIPE), as far as the socket takes them. It
// returns the bytes written and whether the socket took them all; a short
// write means the socket's buffer is full.
func sendvNoSignal(fd int, segs [][]byte) (int, bool, error) {
	if len(segs) == 1 {
		n, err := sendNoSignal(fd, segs[0])
		return n, err == nil && n == len(segs[0]), err
	}
	return sendmsgNoSignal(fd, segs)
}

// sendmsgNoSignal is sendvNoSignal for more than one segment.
func sendmsgNoSignal(fd int, segs [][]byte) (int, bool, error) {
	var iov [maxSegments]unix.Iovec
	written := 0
	for len(segs) > 0 {
		k, want := 0, 0
		for k < len(segs) && k < len(iov) {
			if s := segs[k]; len(s) > 0 {
				iov[k].Base = &s[0]
				iov[k].SetLen(len(s))
				want += len(s)
			} else {
				iov[k] = unix.Iovec{}
			}
			k++
		}
		msg := unix.Msghdr{Iov: &iov[0]}
		msg.SetIovlen(k)
		r, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL)
		switch e {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return written, false, nil
		default:
			return written, false, e
		}
		written += int(r)
		if int(r) < want {
			return written, false, nil
		}
		segs = segs[k:]
	}
	return written, true, nil
}
