package loop

import (
	"syscall"
	"unsafe"
)

// acceptNonBlock accepts a connection as a non-blocking, close-on-exec
// socket, and returns its peer's address. The peer's socket address is
// read into a buffer on the stack (syscall.Accept4 allocates one), and an
// IP peer's address is kept inline (no allocation).
func acceptNonBlock(lfd int, isTCP bool) (int, peerAddr, error) {
	var rsa syscall.RawSockaddrAny
	l := uint32(syscall.SizeofSockaddrAny)
	fd, _, e := syscall.Syscall6(syscall.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)),
		syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	var pa peerAddr
	if e != 0 {
		return -1, pa, e
	}
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		pa.setIP(sa.Addr[:], int(p[0])<<8|int(p[1]))
		return int(fd), pa, nil
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		pa.setIP(sa.Addr[:], int(p[0])<<8|int(p[1]))
		return int(fd), pa, nil
	}
	// A Unix socket's peer (usually unnamed): the slow path is fine.
	sa, err := syscall.Getpeername(int(fd))
	if err != nil {
		sa = nil
	}
	pa.set(sa, isTCP)
	return int(fd), pa, nil
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
