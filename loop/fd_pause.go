//go:build !windows

package loop

import "github.com/cloudwego/netpoll"

// Pausing input (HTTP/1.1 on the fd reactor). While a handler has an
// HTTP/1.1 connection's turn, the bytes the client sends next (its next
// request, pipelined or sent as soon as the response before it was
// complete, with a body of any size) cannot be processed. The poller keeps
// them, up to pauseAt, and then stops reading the socket: the rest waits
// in the kernel and the client's writes block, as they do against
// net/http, which reads the next request only once the handler before it
// returned. Closing the connection as a flood instead killed a
// well-behaved client's request (TestH1InputWhileHandlerEnds).
//
// Netpoll's registrations have no "write only" event, and an operator
// cannot be added to a poller from inside its own callback (the add waits
// for the callback to end). So a pause takes the socket off the poller
// (EPOLL_CTL_DEL, through the poller's own Control: FDOperator.Control
// counts detaches and ignores all but the first, which closeFD needs), and
// output the socket refuses meanwhile puts it back with EPOLLOUT alone
// (edge-triggered, PollWritable) from the writer, or from a goroutine of
// its own when output waited already. The end of the handler's turn
// (kick) and a lingering close put EPOLLIN back, with EPOLLOUT once
// (kicked) so that the poller processes what it kept. While paused, the
// peer's FIN is seen only with EPOLLOUT armed; readRest then reads what
// the socket holds before the requests left are answered.

// fdLeftPoller are the states in which a socket has left its poller for
// good (its operator detached, and freed or about to be).
const fdLeftPoller = fdHandedOff | fdClosing | fdPeerDone

// pauseLimit is the most kept input that stops the reading: below a
// scratch buffer's worth, so that kept input is read into the scratch
// buffer and not into a growing buffer of its own.
const pauseLimit = fdScratchSize / 2

// pauseAt is how much kept input stops the reading.
func (c *fdConn) pauseAt() int { return min(c.core.opts.MaxBufferedInput, pauseLimit) }

// mayPause reports whether the input kept waits for an HTTP/1.1 handler
// that has the turn; its end is then told to resume it.
func (c *fdConn) mayPause() bool {
	h := c.h1.Load()
	return h != nil && h.markWaiting()
}

// pauseInput stops reading the socket; it runs on the poller (onRead),
// which reads nothing more in this call when it reports true: paused
// now, or the turn ended already and its kick has the poller process the
// input kept (onWrite, right after), or the connection is ending. It
// reports false if the poller refused.
func (c *fdConn) pauseInput() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state.Load()
	if c.fdClosed || c.kicked || st&(fdPaused|fdLingering|fdClosing|fdPeerDone|fdHandedOff) != 0 {
		return true
	}
	if c.ps.p == nil || c.ps.p.Control(c.op, netpoll.PollDetach) != nil {
		return false
	}
	c.state.Or(fdPaused)
	if c.out != nil || c.isBlocked() {
		go c.armOutput() // not from inside the callback
	}
	return true
}

// armOutput arms EPOLLOUT for output that waited when input was paused.
func (c *fdConn) armOutput() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armOutputLocked()
}

// armOutputLocked puts a paused socket back on its poller for EPOLLOUT
// alone, once; mu is held, and the caller is not one of the socket's
// callbacks.
func (c *fdConn) armOutputLocked() {
	st := c.state.Load()
	if c.fdClosed || st&(fdPaused|fdPausedOut) != fdPaused || st&fdLeftPoller != 0 {
		return
	}
	if c.ps.p.Control(c.op, netpoll.PollWritable) == nil {
		c.state.Or(fdPausedOut)
	}
}

// resumeInputLocked reads the socket again, if it was paused, and has the
// poller process the input kept meanwhile (kicked: onWrite). It reports
// whether input was paused; mu is held, and the caller is not one of the
// socket's callbacks (none runs while it is paused, but onWrite with
// EPOLLOUT armed, which does not call it).
func (c *fdConn) resumeInputLocked() bool {
	st := c.state.Load()
	if st&fdPaused == 0 {
		return false
	}
	c.state.And(^uint32(fdPaused | fdPausedOut))
	if c.fdClosed || st&fdLeftPoller != 0 {
		return true // never back on the poller
	}
	if st&fdPausedOut == 0 {
		c.ps.p.Control(c.op, netpoll.PollReadable) // EPOLL_CTL_ADD
	}
	c.kicked = true
	c.op.Control(netpoll.PollR2RW) // EPOLL_CTL_MOD: EPOLLIN and EPOLLOUT, level-triggered
	return true
}

// readRest reads, after the peer's FIN, what the socket holds behind
// paused input, as far as the input kept may go (keptBound): the rest
// stays in the socket until what was read is processed, as it would on the
// poller. A client may send a request body larger than that and then shut
// its side down: the body is read as the handler consumes it (h1Rest reads
// on), not all at once, which would be a flood. It runs off the poller
// (the socket left it at the FIN).
func (c *fdConn) readRest() {
	c.mu.Lock()
	if c.state.Load()&fdPaused != 0 {
		c.state.And(^uint32(fdPaused | fdPausedOut))
		c.state.Or(fdRest)
	}
	c.mu.Unlock()
	if c.state.Load()&fdRest == 0 {
		return
	}
	if c.inBuf == nil {
		c.inBuf = inPool.Get().(*[]byte)
		c.in = (*c.inBuf)[:0]
	}
	for bound := c.keptBound(); len(c.in) < bound; {
		if cap(c.in)-len(c.in) < 4096 {
			nb := make([]byte, len(c.in), 2*cap(c.in)+4096)
			copy(nb, c.in)
			c.in = nb
		}
		n, _ := c.read(c.in[len(c.in):min(cap(c.in), bound)])
		if n <= 0 {
			c.state.And(^uint32(fdRest)) // EOF (or an error: what was read is answered, if it can be)
			break
		}
		c.in = c.in[:len(c.in)+n]
	}
	*c.inBuf = c.in
}

// keptBound bounds the input kept while it cannot be processed: for
// HTTP/1.1, whose reading pauses at pauseAt, what one read past that adds
// too (a read takes up to a scratch buffer's worth).
func (c *fdConn) keptBound() int {
	if c.h1.Load() != nil {
		return max(c.core.opts.MaxBufferedInput, pauseLimit+fdScratchSize)
	}
	return c.core.opts.MaxBufferedInput
}
