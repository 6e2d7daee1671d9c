package loop

import (
	"syscall"
	"unsafe"
)

// acceptNonBlock accepts a connection as a non-blocking, close-on-exec
// socket.
func acceptNonBlock(lfd int) (int, syscall.Sockaddr, error) {
	return syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
}

// readNoBlock reads from the non-blocking socket fd without entering the
// scheduler (the read never waits): 0 bytes and a nil error is EOF.
func readNoBlock(fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	return int(n), nil
}

// dupNonBlock duplicates fd (close-on-exec, non-blocking).
func dupNonBlock(fd int) (int, error) {
	nfd, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, e
	}
	if err := syscall.SetNonblock(int(nfd), true); err != nil {
		syscall.Close(int(nfd))
		return -1, err
	}
	return int(nfd), nil
}
