//go:build !windows

package loop

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/http1"
)

// Reactor v2 (Options.Reactor "fd"): a cleartext connection is a small
// fdConn registered on one of netpoll's pollers with a netpoll FDOperator,
// without a netpoll.Connection. Its OnRead runs on the poller goroutine:
// it reads until the socket is drained into the poller's scratch buffer,
// feeds the HTTP/2 engine in place and flushes the responses; only a
// partial frame, or output the socket refused, takes a buffer of the
// connection's own. An idle connection holds no buffer at all.
//
// Rules the code below keeps (they come from how netpoll's pollers work):
//   - EPOLLIN is level-triggered: OnRead reads until EAGAIN or a short
//     read (the poller calls it again if more came meanwhile), or detaches
//     the operator; input it leaves unread makes the poller call it again
//     at once.
//   - OnRead and OnWrite never block: no handler (except inline ones;
//     HTTP/1.1 handlers go to the pool too, see fd_h1.go), no blocking
//     write (output the socket refuses
//     waits in out, with EPOLLOUT armed), and no lock a worker holds for
//     long (h2conn.mu is held by workers only around engine calls: the
//     sink never blocks under it).
//   - On a hang-up netpoll detaches the operator and runs OnHup on a new
//     goroutine.
//   - An operator is never freed inside its own callback (Free waits for
//     the callback to end): closeNow, which frees it, never runs on the
//     poller; the poller detaches and starts it on a goroutine.
//   - No system call touches fd after it is closed (its number may belong
//     to a newer connection by then): reads, writes, poller registration
//     changes and the close itself happen under mu, checking fdClosed.

// netpoll exports FDOperator and Poll, but not its poller registry: the
// pollers live in the unexported variable pollmanager, whose Pick method
// balances connections over them. Both are reached by name below. The
// names belong to netpoll v0.7.2, which go.mod pins; TestFDPollers fails,
// naming this, if an upgrade renames them (the program would not link, or
// Pick would return nil).

//go:linkname netpollManager github.com/cloudwego/netpoll.pollmanager
var netpollManager unsafe.Pointer

//go:linkname netpollPick github.com/cloudwego/netpoll.(*manager).Pick
func netpollPick(m unsafe.Pointer) netpoll.Poll

var errNoPoller = errors.New("h2loop: netpoll's poller registry is not reachable (netpoll.pollmanager; see loop/fd.go)")

// pollState is what the reactor keeps per poller: the scratch buffer every
// read on that poller goes to. Only the poller's goroutine uses it.
type pollState struct {
	p    netpoll.Poll // the poller (its own Control pauses input: fd_pause.go)
	buf  []byte
	strs http1.Interner // the strings of the HTTP/1.1 requests read on the poller
}

// fdScratchSize is the size of a poller's scratch buffer: a read takes up
// to this much at once.
const fdScratchSize = 64 << 10

var (
	pollMu     sync.Mutex
	pollStates = map[netpoll.Poll]*pollState{}
)

// pickPoller returns the next of netpoll's pollers and its state.
func pickPoller() (netpoll.Poll, *pollState, error) {
	if netpollManager == nil {
		return nil, nil, errNoPoller
	}
	p := netpollPick(netpollManager)
	if p == nil {
		return nil, nil, errNoPoller
	}
	pollMu.Lock()
	defer pollMu.Unlock()
	ps := pollStates[p]
	if ps == nil {
		ps = &pollState{p: p, buf: make([]byte, fdScratchSize)}
		pollStates[p] = ps
	}
	return p, ps, nil
}

// fdConn states (fdConn.state bits).
const (
	fdStarted   = 1 << iota // a protocol took the connection over
	fdLingering             // write side shut down, input discarded
	fdClosing               // closeNow ran (or runs)
	fdHandedOff             // served by the standard library's path now
	fdTimedOut              // a timeout was reported
	fdPeerDone              // the peer's FIN (or a socket error) was handled
	fdQueued                // in one of the Core's lists of closes (fd_reap.go)
	fdBlocked               // out (or the writer) holds output the socket refused; changed under mu
	fdPaused                // input is not read (fd_pause.go); changed under mu
	fdPausedOut             // paused, with EPOLLOUT armed for output the socket refused; changed under mu
	fdRest                  // after the peer's FIN, the socket may hold input behind a pause, read as it is processed (fd_pause.go)
)

// isBlocked reports whether output waits for the socket.
func (c *fdConn) isBlocked() bool { return c.state.Load()&fdBlocked != 0 }

// setBlocked records whether output waits for the socket; mu is held.
func (c *fdConn) setBlocked(on bool) {
	if on {
		c.state.Or(fdBlocked)
	} else {
		c.state.And(^uint32(fdBlocked))
	}
}

// fdConn is one cleartext connection on the reactor. Fields are ordered
// so that the small ones share words: thousands of idle connections each
// hold one.
type fdConn struct {
	// immutable after addFD
	core  *Core
	op    *netpoll.FDOperator
	ps    *pollState
	rip   [net.IPv6len]byte        // an IP peer's address (peerAddr.ip)
	raddr atomic.Pointer[net.Addr] // the peer's net.Addr: made on first use (at accept for a peer without an IP)
	hk    *connHooks               // immutable after addFD
	cb    [3]fdCallback            // op's OnRead, OnWrite, OnHup (fd_callbacks.go); immutable after addFD

	h2  atomic.Pointer[h2conn]   // set once by the poller
	h1  atomic.Pointer[h1conn]   // set by the poller (nil again after an h2c upgrade)
	std atomic.Pointer[net.Conn] // the connection after handOff

	// owned by the poller goroutine: a partial frame (or preface) kept
	// between reads, and since when (unix nanoseconds, read by tick).
	in      []byte
	inBuf   *[]byte // in's pooled buffer
	inSince atomic.Int64

	// guarded by mu: the descriptor, and the output the socket refused.
	out     *[]byte // pending output, out[outHead:] not yet sent
	outHead int32   // MaxBufferedOutput is at most 1 GiB
	// reg is the position (+1) in the Core's list of live connections of
	// this connection or of the protocol that took it over (guarded by the
	// Core's lock)
	reg     int32
	outAt   int64         // last progress on out (unix nanoseconds)
	drained chan struct{} // closed when out drains (writers waiting, fd_h1.go)

	// reapNext is the next connection in the Core's list of closes,
	// guarded by the reaper's lock (fd_reap.go).
	reapNext *fdConn
	// at is when the socket was accepted (unix nanoseconds); once it is
	// queued for a lingering close, when that close is due (the accept
	// time matters only until a protocol starts).
	at atomic.Int64

	mu       sync.Mutex
	state    atomic.Uint32
	fdClosed bool   // guarded by mu
	outClose bool   // guarded by mu: closeSocket waits for out to drain
	kicked   bool   // guarded by mu: EPOLLOUT armed to have the poller process kept input (fd_h1.go)
	rport    uint16 // an IP peer's port; immutable after addFD
	fd       int32  // the socket; immutable after addFD
}

// Buffers for output the socket refused and for partial frames (a frame
// of the default maximum size fits in an input buffer).
var (
	outPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	inPool  = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10+codec.FrameHeaderLen); return &b }}
)

var errOutputFlood = errors.New("h2loop: too much output the peer does not read")

func nanotime() int64 { return time.Now().UnixNano() }

// addFD takes over a socket the acceptor accepted: it is admitted
// (MaxConns), registered with the Core until it picks a protocol, and on
// a poller.
func (core *Core) addFD(fd int, remote peerAddr, isTCP bool) {
	c := &fdConn{core: core, fd: int32(fd), rip: remote.ip, rport: remote.port}
	if remote.addr != nil {
		a := remote.addr // (a copy: &remote.addr would put every remote on the heap)
		c.raddr.Store(&a)
	}
	if !core.admit(c.peer()) {
		syscall.Close(fd)
		return
	}
	if isTCP {
		syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	}
	noSigPipe(fd)
	c.at.Store(nanotime())
	hk, hooked := core.newConnHooks(c)
	c.hk = hk
	if !hooked {
		// ConnContext or ConnState panicked (recovered, counted, logged).
		syscall.Close(fd)
		core.release()
		hk.end(http.StateClosed)
		return
	}
	if core.opts.Proxy != nil {
		// The PROXY protocol's header is read on the standard library's
		// path, which then serves the connection.
		c.state.Store(fdStarted | fdHandedOff)
		go c.handOff(nil)
		return
	}
	p, ps, err := pickPoller()
	if err != nil {
		core.logf("h2loop: %v", err)
		c.state.Store(fdStarted | fdHandedOff)
		go c.handOff(nil)
		return
	}
	op := p.Alloc()
	op.FD = fd
	c.bindCallbacks(op)
	c.op, c.ps = op, ps
	if !core.add(c) {
		c.closeNow() // shutting down
		return
	}
	if !c.register() {
		c.closeNow()
	}
}

// register puts the socket on its poller (EPOLLIN, level-triggered).
func (c *fdConn) register() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.fdClosed && c.op.Control(netpoll.PollReadable) == nil
}

// control changes the poller registration while fd is open; mu is held.
func (c *fdConn) control(e netpoll.PollEvent) {
	if c.fdClosed {
		return
	}
	if c.state.Load()&fdPaused != 0 && e != netpoll.PollDetach {
		// Paused: EPOLLIN stays off until resumeInputLocked; output the
		// socket refuses gets EPOLLOUT alone.
		if e == netpoll.PollR2RW {
			c.armOutputLocked()
		}
		return
	}
	c.op.Control(e)
}

// detach takes the socket off its poller (idempotent); the poller may
// call it in a callback.
func (c *fdConn) detach() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.control(netpoll.PollDetach)
}

// read reads from fd unless it is closed.
func (c *fdConn) read(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return 0, net.ErrClosed
	}
	return readNoBlock(int(c.fd), b)
}

// onRead runs on the poller when the socket is readable (or hung up).
func (c *fdConn) onRead(p netpoll.Poll) error {
	defer func() {
		if x := recover(); x != nil {
			c.core.recovered("reactor callback", c.peer(), x)
			c.gone()
		}
	}()
	st := c.state.Load()
	if st&(fdClosing|fdHandedOff) != 0 {
		return nil
	}
	if st&fdLingering != 0 {
		c.discard()
		return nil
	}
	buf := c.ps.buf
	for {
		if len(c.in) >= c.pauseAt() && c.mayPause() && c.pauseInput() {
			return nil // read on once the handler's turn ends (fd_pause.go)
		}
		var data []byte
		var n, room int
		var err error
		big := len(c.in)+4096 > len(buf)
		if big {
			// A partial frame larger than the scratch buffer grows in
			// its own buffer.
			if cap(c.in)-len(c.in) < 4096 {
				nb := make([]byte, len(c.in), 2*cap(c.in)+4096)
				copy(nb, c.in)
				c.in = nb
				*c.inBuf = nb
			}
			room = cap(c.in) - len(c.in)
			n, err = c.read(c.in[len(c.in):cap(c.in)])
			if n > 0 {
				c.in = c.in[:len(c.in)+n]
				data = c.in
			}
		} else {
			k := copy(buf, c.in)
			room = len(buf) - k
			n, err = c.read(buf[k:])
			data = buf[:k+max(n, 0)]
		}
		if n <= 0 {
			if err == syscall.EAGAIN || err == syscall.EINTR {
				return nil
			}
			if h := c.h1.Load(); h != nil && n == 0 {
				c.h1PeerDone(h) // EOF: what was read is still answered
				return nil
			}
			c.gone() // EOF or a socket error: the peer is gone
			return nil
		}
		used, ok := 0, true
		if c.isBlocked() {
			// Our output waits for the socket: the input waits too.
			if len(data) > c.keptBound() {
				if h := c.h2.Load(); h != nil {
					h.tooMuchInput(len(data))
				}
				if h := c.h1.Load(); h != nil {
					c.h1Flood(h, len(data))
				}
				c.dropIn()
				return nil
			}
		} else {
			used, ok = c.process(data)
		}
		if !ok {
			return nil
		}
		rest := data[used:]
		if big {
			c.in = c.in[:copy(c.in, rest)]
			if len(c.in) == 0 {
				c.dropIn()
			} else if used > 0 {
				c.inSince.Store(nanotime())
			}
		} else {
			c.keepIn(rest, used > 0)
		}
		if n < room {
			return nil // a short read drained the socket: no extra read to learn EAGAIN
		}
	}
}

// process handles bytes read (the partial frame kept before them
// included) and returns how many it used; the rest is the start of a
// frame. It reports false when the connection stops being read here.
func (c *fdConn) process(data []byte) (int, bool) {
	if h1 := c.h1.Load(); h1 != nil {
		return c.processH1(h1, data)
	}
	h := c.h2.Load()
	if h == nil {
		var ok bool
		if h, ok = c.sniff(data); !ok {
			return 0, false
		}
		if h == nil {
			if h1 := c.h1.Load(); h1 != nil {
				return c.processH1(h1, data)
			}
			return 0, true // a part of the preface
		}
	}
	h.beginLoop()
	used, need, done := h.input(data)
	h.endLoop()
	if done {
		c.dropIn()
		return 0, false
	}
	if used < len(data) && need > c.core.opts.MaxBufferedInput {
		h.tooMuchInput(need)
		c.dropIn()
		return 0, false
	}
	return used, true
}

// sniff picks the protocol from the first bytes: the HTTP/2 preface
// (prior knowledge) starts HTTP/2 here, an HTTP/1.1 request line HTTP/1.1
// (c.h1, nil returned); anything else closes it.
// "On a port that also serves HTTP/1.1, bytes that are neither the preface
// nor a valid HTTP/1.1 request line close the connection." It returns
// (nil, true) while the bytes are a part of the preface.
func (c *fdConn) sniff(data []byte) (*h2conn, bool) {
	switch sniff(data, c.core.opts.DisableHTTP1) {
	case sniffMore:
		return nil, true
	case sniffH2:
		c.begin()
		h := newH2Conn(c.core, c, c.peer(), false)
		c.h2.Store(h)
		if !c.core.add(h) {
			h.close()
			return nil, false
		}
		return h, true
	case sniffH1:
		_, ok := c.startH1()
		return nil, ok
	}
	c.gone()
	return nil, false
}

// begin hands the connection over from the Core's registry of
// connections that have not spoken yet to the protocol that takes it.
func (c *fdConn) begin() {
	c.state.Or(fdStarted)
	c.core.remove(c)
}

// keepIn keeps rest, the start of a frame, until more bytes come; fresh
// says it is a new frame (its ReadTimeout starts now).
func (c *fdConn) keepIn(rest []byte, fresh bool) {
	if len(rest) == 0 {
		c.dropIn()
		return
	}
	if c.inBuf == nil {
		c.inBuf = inPool.Get().(*[]byte)
		fresh = true
	}
	if fresh {
		c.inSince.Store(nanotime())
	}
	c.in = append((*c.inBuf)[:0], rest...)
	*c.inBuf = c.in
}

// dropIn gives the partial-frame buffer back.
func (c *fdConn) dropIn() {
	if c.inBuf == nil {
		return
	}
	if cap(c.in) <= 64<<10 {
		*c.inBuf = c.in[:0]
		inPool.Put(c.inBuf)
	}
	c.in, c.inBuf = nil, nil
	c.inSince.Store(0)
}

// discard reads and drops input while the connection lingers.
func (c *fdConn) discard() {
	for {
		n, err := c.read(c.ps.buf)
		if n <= 0 {
			if err != syscall.EAGAIN && err != syscall.EINTR {
				c.gone()
			}
			return
		}
		if n < len(c.ps.buf) {
			return
		}
	}
}

// gone ends a connection from the poller: it leaves the poller now and
// is closed on another goroutine (closeNow frees the operator).
func (c *fdConn) gone() {
	c.state.Or(fdPeerDone)
	c.detach()
	c.dropIn()
	c.closeSoon()
}

// onHup runs on a goroutine of netpoll's after the poller saw the peer
// hang up (and detached the operator).
func (c *fdConn) onHup(p netpoll.Poll) error {
	if c.state.Load()&(fdHandedOff|fdPeerDone) != 0 {
		return nil
	}
	if h := c.h1.Load(); h != nil && !h.closed.Load() {
		c.h1PeerDone(h)
		return nil
	}
	c.closeNow()
	return nil
}

// write implements sink; it never blocks. What the socket does not take
// at once waits in out, with EPOLLOUT armed, and onWrite sends it. While
// out holds anything the connection is blocked, as a reading goroutine
// blocked in a write would be: the HTTP/2 flush takes no DATA from the
// engine (handlers wait on their windows and buffers, as for any slow
// peer), and input is read but not processed (it waits in the input
// buffer, bounded by MaxBufferedInput). Output beyond MaxBufferedOutput
// (what handlers finishing meanwhile add) closes the connection.
func (c *fdConn) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return net.ErrClosed
	}
	if c.out == nil {
		n, err := sendNoSignal(int(c.fd), b)
		if err != nil {
			return err
		}
		if n == len(b) {
			return nil
		}
		b = b[n:]
		c.core.Metrics.WritesBlocked.Add(1)
		c.out = outPool.Get().(*[]byte)
		c.outAt = nanotime()
		c.setBlocked(true)
		c.control(netpoll.PollR2RW)
	}
	if pending := len(*c.out) - int(c.outHead) + len(b); pending > c.core.opts.MaxBufferedOutput {
		c.core.Metrics.FloodErrors.Add(1)
		c.core.logEvent(slog.LevelWarn, logAttrs{remote: c.peer(), counter: "FloodErrors"}, "h2loop: %v: %d bytes of output the peer does not read (MaxBufferedOutput %d): closing", c.peer(), pending, c.core.opts.MaxBufferedOutput)
		return errOutputFlood
	}
	*c.out = append(*c.out, b...)
	return nil
}

// sinkFull reports whether output waits for the socket.
func (c *fdConn) sinkFull() bool { return c.isBlocked() }

// writeVec writes segs, in order, as far as the socket takes them now
// (one gathered write), and returns how many bytes it took. It never
// blocks and keeps nothing: when the socket refuses some, the connection
// is blocked as with write, EPOLLOUT is armed, and the caller keeps the
// rest until onWrite calls resumeOutput. While output waits (the caller's
// or out's), it writes nothing.
func (c *fdConn) writeVec(segs [][]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return 0, net.ErrClosed
	}
	if c.isBlocked() {
		return 0, nil
	}
	n, all, err := sendvNoSignal(int(c.fd), segs)
	if err != nil || all {
		return n, err
	}
	c.core.Metrics.WritesBlocked.Add(1)
	c.outAt = nanotime()
	c.setBlocked(true)
	c.control(netpoll.PollR2RW)
	return n, nil
}

// flushFD writes the engine's output to an fd connection with gathered
// writes: the payloads of static bodies go from their own memory to the
// socket. What the socket does not take stays in the engine until
// onWrite (resumeOutput). It reports false when it closed the
// connection (a write error). Called with mu held.
func (h *h2conn) flushFD(fc *fdConn) bool {
	for h.engv.OutputLen() > 0 {
		var n int
		var err error
		if h.engv.OutputReferenced() == 0 {
			n, err = fc.writeVec([][]byte{h.engv.Output()})
		} else {
			n, err = h.writeSegmentsFD(fc)
		}
		h.engv.ConsumeOutput(n)
		if err != nil {
			h.closeLocked()
			return false
		}
		if fc.sinkFull() {
			return true
		}
	}
	h.engv.ConsumeOutput(0) // lets an idle connection return its buffer
	return true
}

// writeSegmentsFD writes the first maxSegments segments of the output
// (its own function: the segment array is on the stack only when a
// gathered write needs it).
//
//go:noinline
func (h *h2conn) writeSegmentsFD(fc *fdConn) (int, error) {
	var segs [maxSegments][]byte
	return fc.writeVec(h.engv.OutputSegments(segs[:0]))
}

// handOverOutput moves output the engine still holds to fc's own buffer
// (copied), before a close that aborts the engine: closeSocket then sends
// it before shutting the socket down. Called with mu held.
func (h *h2conn) handOverOutput(fc *fdConn) {
	if h.engv.OutputLen() > 0 {
		out := h.engv.Output()
		fc.write(out)
		h.engv.ConsumeOutput(len(out))
	}
}

// tryWrite queues b (a last GOAWAY) if the connection can take it
// without waiting, and drops it otherwise.
func (c *fdConn) tryWrite(b []byte) {
	c.write(b)
}

// onWrite runs on the poller when the socket takes output again.
func (c *fdConn) onWrite(p netpoll.Poll) error {
	defer func() {
		if x := recover(); x != nil {
			c.core.recovered("reactor callback", c.peer(), x)
			c.gone()
		}
	}()
	drained, closing, err := c.sendOut()
	switch {
	case err != nil:
		c.gone()
	case !drained:
	case closing:
		c.shutWrite()
	case c.state.Load()&(fdLingering|fdClosing|fdPeerDone|fdPaused) != 0:
	case len(c.in) > 0:
		// Input read while the output was blocked: processed now (its
		// endLoop flushes, DATA included).
		used, ok := c.process(c.in)
		if ok {
			c.in = c.in[:copy(c.in, c.in[used:])]
			if len(c.in) == 0 {
				c.dropIn()
			} else {
				*c.inBuf = c.in
			}
		}
	default:
		if h := c.h2.Load(); h != nil {
			h.resumeOutput()
		}
	}
	return nil
}

// sendOut sends pending output; drained says out is empty now, closing
// that closeSocket waits for it.
func (c *fdConn) sendOut() (drained, closing bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return false, false, nil
	}
	if c.out == nil {
		// EPOLLOUT armed by kick (the poller processes the input kept
		// while a handler had the turn), or the writer kept what the
		// socket refused (writeVec): it writes again, from resumeOutput.
		kicked, held := c.kicked, c.isBlocked()
		if !kicked && !held {
			return false, false, nil
		}
		c.kicked = false
		c.setBlocked(false)
		c.control(netpoll.PollRW2R)
		return true, false, nil
	}
	b := (*c.out)[c.outHead:]
	n, err := sendNoSignal(int(c.fd), b)
	if err != nil {
		return false, false, err
	}
	if n > 0 {
		c.outAt = nanotime()
		c.outHead += int32(n)
	}
	if n < len(b) {
		if int(c.outHead) > len(*c.out)/2 {
			*c.out = (*c.out)[:copy(*c.out, (*c.out)[c.outHead:])]
			c.outHead = 0
		}
		return false, false, nil
	}
	c.outHead = 0
	if cap(*c.out) <= 256<<10 {
		*c.out = (*c.out)[:0]
		outPool.Put(c.out)
	}
	c.out = nil
	c.kicked = false
	c.control(netpoll.PollRW2R)
	c.setBlocked(false)
	c.wakeDrained()
	return true, c.outClose, nil
}

// resumeOutput flushes what the engine holds back while the sink was full.
func (h *h2conn) resumeOutput() {
	h.mu.Lock()
	defer h.unlock("HTTP/2 flush")
	if !h.inLoop && !h.is(flagClosed) {
		h.flushLocked()
	}
}

// sinkFull reports whether h's socket holds as much unsent output as it
// may: the flush then leaves DATA in the engine until it drains.
func (h *h2conn) sinkFull() bool {
	f, ok := h.sink.(*fdConn)
	return ok && f.sinkFull()
}

// fdSink is h's socket when it is an fd connection (written with
// gathered writes), nil otherwise.
func (h *h2conn) fdSink() *fdConn {
	f, _ := h.sink.(*fdConn)
	return f
}

// closeSocket implements sink, with a lingering close: closing a socket
// that still has unread input makes the kernel answer with a reset and
// drop what we queued (a final GOAWAY), so input is discarded from now
// on, output still waiting is sent, the write side is shut down, and the
// socket is closed lingerTime later (whatever is left unsent then is
// lost: a peer that does not read gets no longer). It never blocks.
func (c *fdConn) closeSocket() {
	for {
		st := c.state.Load()
		if st&(fdLingering|fdClosing) != 0 {
			return
		}
		if c.state.CompareAndSwap(st, st|fdLingering) {
			break
		}
	}
	c.mu.Lock()
	wait := !c.fdClosed && c.out != nil
	c.outClose = wait
	c.resumeInputLocked() // input is read (and dropped) while lingering
	c.mu.Unlock()
	// The peer is gone (a client that ends with GOAWAY and closes at
	// once, as load generators do, has its FIN here already) and nothing
	// waits to be sent: no lingering.
	if !wait && (c.state.Load()&fdPeerDone != 0 || c.peerFinished()) {
		c.closeSoon()
		return
	}
	if !wait {
		c.shutWrite()
	}
	c.queue(true) // closed by the Core's ticker, lingerTime from now
}

// peerFinished reports whether the peer has closed its side with nothing
// left unread: a read of one byte finds the end of the stream. A byte it
// reads is dropped, as lingering drops input.
func (c *fdConn) peerFinished() bool {
	var b [1]byte
	n, err := c.read(b[:])
	return n == 0 && err == nil
}

// shutWrite shuts the socket's write side down.
func (c *fdConn) shutWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fdClosed {
		syscall.Shutdown(int(c.fd), syscall.SHUT_WR)
	}
}

// closeNow closes the socket at once, once, and tells the protocol. It
// frees the operator, so it never runs on the poller.
func (c *fdConn) closeNow() {
	for {
		st := c.state.Load()
		if st&(fdClosing|fdHandedOff) != 0 {
			return
		}
		if c.state.CompareAndSwap(st, st|fdClosing) {
			break
		}
	}
	c.closeFD()
	if c.op != nil {
		c.op.Free() // waits for a callback in progress to end
	}
	h1 := c.h1.Load()
	if h1 == nil || c.state.Load()&fdPeerDone == 0 {
		c.dropIn() // no callback runs any more (after an HTTP/1.1 FIN, a worker may still use it)
	}
	c.core.release()
	if c.state.Load()&fdStarted == 0 {
		c.core.remove(c)
	}
	if h := c.h2.Load(); h != nil {
		h.onClosed()
	}
	if h1 != nil {
		h1.onClosed()
	}
	c.hk.end(http.StateClosed)
}

// closeFD takes fd off the poller and closes it.
func (c *fdConn) closeFD() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fdClosed {
		return
	}
	if c.op != nil {
		c.op.Control(netpoll.PollDetach)
	}
	c.fdClosed = true
	syscall.Close(int(c.fd))
	c.wakeDrained()
	if c.out != nil {
		c.out = nil
		c.outHead = 0
	}
}

// buffered implements sink: input is never buffered beyond a partial
// frame. It is called by the HTTP/2 connection's tick, once a second, and
// enforces the two deadlines of the socket there: ReadTimeout for the
// rest of a partial frame, WriteTimeout for a peer that does not take
// our output.
func (c *fdConn) buffered() int {
	now := nanotime()
	c.mu.Lock()
	stalled := c.isBlocked() && now-c.outAt > int64(c.core.opts.WriteTimeout)
	c.mu.Unlock()
	if stalled && c.timedOut() {
		c.core.writeTimedOut(c.peer())
		c.closeSoon()
		return 0
	}
	if since := c.inSince.Load(); since != 0 && c.h1.Load() == nil && now-since > int64(c.core.opts.ReadTimeout) && c.timedOut() {
		c.core.logf("h2loop: %v: incomplete frame: not completed within %v", c.peer(), c.core.opts.ReadTimeout)
		c.closeSoon()
	}
	return 0
}

// timedOut marks the connection timed out, once.
func (c *fdConn) timedOut() bool {
	for {
		st := c.state.Load()
		if st&fdTimedOut != 0 {
			return false
		}
		if c.state.CompareAndSwap(st, st|fdTimedOut) {
			return true
		}
	}
}

func (c *fdConn) netConn() net.Conn { return c }
func (c *fdConn) hooks() *connHooks { return c.hk }
func (c *fdConn) started() bool     { return c.state.Load()&fdStarted != 0 }
func (c *fdConn) idle() bool        { return !c.started() }
func (c *fdConn) shutdown()         { c.close() }

// RemoteAddr is the peer's address: an IP peer's is made on first use
// (from the address accept returned, kept inline) and then shared.
func (c *fdConn) RemoteAddr() net.Addr {
	if p := c.raddr.Load(); p != nil {
		return *p
	}
	a := net.Addr(newTCPAddr(c.rip[:], int(c.rport)))
	if c.raddr.CompareAndSwap(nil, &a) {
		return a
	}
	return *c.raddr.Load()
}

// fdPeer is an fd connection's peer address as the protocols and the log
// lines hold it: the connection itself, so that holding it allocates
// nothing; its String is the address's.
type fdPeer fdConn

func (p *fdPeer) Network() string { return (*fdConn)(p).RemoteAddr().Network() }
func (p *fdPeer) String() string  { return (*fdConn)(p).RemoteAddr().String() }

// peer is c's peer address, made on first use.
func (c *fdConn) peer() net.Addr { return (*fdPeer)(c) }

// realAddr is the address a stands for: a connection's peer address made
// on first use, or a itself.
// regSlot is where c, and the protocol that takes it over, keep their
// position in the Core's list (core.go's slotted); connections on other
// transports are in the Core's map.
func (c *fdConn) regSlot() *int32 { return &c.reg }

func (h *h2conn) regSlot() *int32 {
	if c, ok := h.sink.(*fdConn); ok {
		return c.regSlot()
	}
	return nil
}

func (h *h1conn) regSlot() *int32 {
	if c, ok := h.sink.(*fdConn); ok {
		return c.regSlot()
	}
	return nil
}

func realAddr(a net.Addr) net.Addr {
	if p, ok := a.(*fdPeer); ok {
		return (*fdConn)(p).RemoteAddr()
	}
	return a
}

// The closer methods, for a connection that has not picked a protocol.

func (c *fdConn) tick(now time.Time) {
	limit := c.core.opts.Engine.SettingsTimeout
	if !c.started() && now.UnixNano()-c.at.Load() > int64(limit) {
		c.core.Metrics.Timeouts.Add(1)
		c.core.logEvent(slog.LevelWarn, logAttrs{remote: c.peer(), counter: "Timeouts"}, "h2loop: %v: nothing received within %v: closing", c.peer(), limit)
		c.closeNow()
	}
}

func (c *fdConn) close() {
	if !c.started() {
		c.closeNow()
	}
}
