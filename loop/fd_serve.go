//go:build !windows

package loop

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
)

// serveFD accepts the connections of ln for the fd reactor. It reports
// false when ln gives no access to its socket (it is then served as
// ServeListener serves any listener). Accepting runs on one of netpoll's
// pollers: an operator on a duplicate of ln's socket wakes it, and the
// callback accepts until EAGAIN through ln's own descriptor (under
// RawConn.Control, so that a closed ln accepts nothing more), putting each
// socket on a poller. It returns when ln is closed (noticed at the next
// wake-up, or within a second), or at Core.Shutdown or Core.Close.
func (core *Core) serveFD(ln net.Listener) (bool, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, nil
	}
	dup := -1
	var derr error
	if err := rc.Control(func(fd uintptr) { dup, derr = dupNonBlock(int(fd)) }); err != nil || derr != nil {
		return false, nil
	}
	p, _, err := pickPoller()
	if err != nil {
		syscall.Close(dup)
		return false, nil
	}
	a := &fdAcceptor{core: core, p: p, rc: rc, isTCP: ln.Addr().Network() != "unix", fd: dup, stop: make(chan struct{})}
	a.op = p.Alloc()
	a.op.FD = dup
	a.op.OnRead = a.onRead
	a.acceptFn = a.acceptAll
	a.op.OnHup = func(netpoll.Poll) error { a.finish(nil); return nil }
	if !core.addAcceptor(a) {
		a.op.Free()
		syscall.Close(dup)
		return true, nil
	}
	defer core.removeAcceptor(a)
	if err := a.p.Control(a.op, netpoll.PollReadable); err != nil {
		a.op.Free()
		syscall.Close(dup)
		return false, nil
	}
	check := time.NewTicker(time.Second)
	defer check.Stop()
wait:
	for {
		select {
		case <-a.stop:
			break wait
		case <-check.C:
			if rc.Control(func(uintptr) {}) != nil {
				break wait // ln was closed
			}
		}
	}
	a.mu.Lock()
	a.closed = true
	a.p.Control(a.op, netpoll.PollDetach)
	syscall.Close(dup)
	a.mu.Unlock()
	a.op.Free() // not on the poller: waits for a callback in progress
	return true, a.err
}

// fdAcceptor is a listener on the fd reactor.
type fdAcceptor struct {
	// immutable after serveFD
	core  *Core
	rc    syscall.RawConn
	isTCP bool
	p     netpoll.Poll
	op    *netpoll.FDOperator
	fd    int
	stop  chan struct{}

	mu     sync.Mutex
	closed bool  // fd closed (no more poller changes)
	ended  bool  // stop is closed
	err    error // why accepting failed
	delay  time.Duration

	// owned by the poller's callback: acceptAll (a method value made
	// once, not a closure per wake-up) and what it found.
	acceptFn func(lfd uintptr)
	fatal    error
	pause    bool
}

// onRead accepts on the poller until the backlog is empty.
func (a *fdAcceptor) onRead(p netpoll.Poll) error {
	a.fatal, a.pause = nil, false
	err := a.rc.Control(a.acceptFn)
	fatal, pause := a.fatal, a.pause
	a.fatal = nil
	switch {
	case err != nil:
		a.finish(nil) // ln was closed
	case fatal != nil:
		a.finish(fatal)
	case pause:
		// The poller must not sleep: the socket leaves it for a while.
		a.detached(true)
		if a.delay == 0 {
			a.delay = 5 * time.Millisecond
		} else if a.delay *= 2; a.delay > time.Second {
			a.delay = time.Second
		}
		time.AfterFunc(a.delay, func() { a.detached(false) })
	}
	return nil
}

// acceptAll accepts from the listener's socket lfd until EAGAIN, under
// RawConn.Control (a closed listener accepts nothing more).
func (a *fdAcceptor) acceptAll(lfd uintptr) {
	for {
		fd, remote, err := acceptNonBlock(int(lfd), a.isTCP)
		switch err {
		case nil:
		case syscall.EAGAIN:
			return
		case syscall.EINTR, syscall.ECONNABORTED:
			continue
		case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM:
			a.pause = true // out of descriptors: wait a little, as net/http does
			return
		default:
			a.fatal = err
			return
		}
		a.delay = 0
		a.core.addFD(fd, remote, a.isTCP)
	}
}

// detached takes the socket off the poller, or puts it back.
func (a *fdAcceptor) detached(off bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.ended {
		return
	}
	if off {
		a.p.Control(a.op, netpoll.PollDetach)
	} else {
		// (The poll's own Control: FDOperator.Control counts detaches
		// and ignores all but the first.)
		a.p.Control(a.op, netpoll.PollReadable)
	}
}

// finish ends accepting (once); it may run on the poller.
func (a *fdAcceptor) finish(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ended {
		return
	}
	a.ended = true
	a.err = err
	if !a.closed {
		a.p.Control(a.op, netpoll.PollDetach) // level-triggered: stop the wake-ups now
	}
	close(a.stop)
}

// peerAddr is an accepted socket's peer address as accept returns it: an
// IP peer's address and port kept inline (the net.Addr is made on first
// use, see fdConn.RemoteAddr), any other peer's as a net.Addr.
type peerAddr struct {
	ip   [net.IPv6len]byte // 16-byte form (IPv4-mapped for IPv4)
	port uint16
	addr net.Addr // a peer without an IP (a Unix socket); nil for an IP one
}

// setIP records an IP peer: ip is 4 or 16 bytes.
func (pa *peerAddr) setIP(ip []byte, port int) {
	if len(ip) == net.IPv4len {
		pa.ip[10], pa.ip[11] = 0xff, 0xff
		copy(pa.ip[12:], ip)
	} else {
		copy(pa.ip[:], ip)
	}
	pa.port = uint16(port)
}

// set records the peer of sa.
func (pa *peerAddr) set(sa syscall.Sockaddr, isTCP bool) {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		pa.setIP(a.Addr[:], a.Port)
	case *syscall.SockaddrInet6:
		pa.setIP(a.Addr[:], a.Port)
	default:
		pa.addr = sockaddrAddr(sa, isTCP)
	}
}

// sockaddrAddr converts an accepted socket's peer address.
func sockaddrAddr(sa syscall.Sockaddr, isTCP bool) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return newTCPAddr(a.Addr[:], a.Port)
	case *syscall.SockaddrInet6:
		return newTCPAddr(a.Addr[:], a.Port)
	case *syscall.SockaddrUnix:
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	if isTCP {
		return &net.TCPAddr{}
	}
	return &net.UnixAddr{Net: "unix"}
}

// tcpAddr is a net.TCPAddr with room for its IP: one allocation.
type tcpAddr struct {
	addr net.TCPAddr
	ip   [net.IPv6len]byte
}

// newTCPAddr returns the address of ip (4 or 16 bytes) and port, its IP
// in the 16-byte form either way (as net.IPv4 makes it).
func newTCPAddr(ip []byte, port int) *net.TCPAddr {
	a := new(tcpAddr)
	if len(ip) == net.IPv4len {
		a.ip[10], a.ip[11] = 0xff, 0xff
		copy(a.ip[12:], ip)
	} else {
		copy(a.ip[:], ip)
	}
	a.addr = net.TCPAddr{IP: a.ip[:], Port: port}
	return &a.addr
}

// handOff serves the connection on the standard library's path (a
// goroutine reading it): connections with a PROXY protocol header, and
// all of them if no poller is reachable. pre is what
// the poller read already. It runs on its own goroutine: the operator,
// detached already, is freed here.
func (c *fdConn) handOff(pre []byte) {
	defer c.core.release()
	if c.op != nil {
		c.op.Free()
	}
	c.dropIn()
	nc, err := c.fileConn()
	if err != nil {
		c.core.logf("h2loop: %v: handing the connection over: %v", c.peer(), err)
		return
	}
	c.std.Store(&nc)
	if len(pre) > 0 {
		nc = &prefixConn{Conn: nc, pre: pre}
	}
	c.core.serveStdHooks(nc, nil, c.hk)
}

// fileConn makes a net.Conn of a duplicate of fd, and closes fd.
func (c *fdConn) fileConn() (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fdClosed = true
	f := os.NewFile(uintptr(c.fd), "")
	defer f.Close()
	return net.FileConn(f)
}

// prefixConn is a net.Conn whose first reads return pre.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		if len(p.pre) == 0 {
			p.pre = nil
		}
		return n, nil
	}
	return p.Conn.Read(b)
}

// fdConn is the net.Conn the hooks (ConnState, ConnContext) see. The
// server owns its input: Read fails. After handOff it stands for the
// standard library's connection.

var errFDRead = errors.New("h2loop: the connection's input belongs to the server")

func (c *fdConn) Read(b []byte) (int, error) {
	if nc := c.std.Load(); nc != nil {
		return (*nc).Read(b)
	}
	return 0, errFDRead
}

func (c *fdConn) Write(b []byte) (int, error) {
	if nc := c.std.Load(); nc != nil {
		return (*nc).Write(b)
	}
	if err := c.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (c *fdConn) Close() error {
	if nc := c.std.Load(); nc != nil {
		return (*nc).Close()
	}
	c.closeSocket()
	return nil
}

// LocalAddr is the socket's address, asked of the kernel (nil once closed).
func (c *fdConn) LocalAddr() net.Addr {
	if nc := c.std.Load(); nc != nil {
		return (*nc).LocalAddr()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return nil
	}
	sa, err := syscall.Getsockname(int(c.fd))
	if err != nil {
		return nil
	}
	_, isUnix := c.RemoteAddr().(*net.UnixAddr)
	return sockaddrAddr(sa, !isUnix)
}

func (c *fdConn) SetDeadline(t time.Time) error {
	if nc := c.std.Load(); nc != nil {
		return (*nc).SetDeadline(t)
	}
	return nil
}

func (c *fdConn) SetReadDeadline(t time.Time) error {
	if nc := c.std.Load(); nc != nil {
		return (*nc).SetReadDeadline(t)
	}
	return nil
}

func (c *fdConn) SetWriteDeadline(t time.Time) error {
	if nc := c.std.Load(); nc != nil {
		return (*nc).SetWriteDeadline(t)
	}
	return nil
}
