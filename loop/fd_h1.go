//go:build !windows

package loop

import (
	"log/slog"
	"net"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/http1"
)

// HTTP/1.1 on the fd reactor. The connection stays on its poller like an
// HTTP/2 one: OnRead feeds the bytes to the h1conn, which hands a complete
// request to the worker pool (or runs it inline, Options.Inline) and
// returns. While the handler has the turn, the poller reads on into the
// connection's input buffer (bounded by MaxBufferedInput) without
// processing it; when the handler is done, its worker writes the
// response (waiting while the socket refuses it, bounded by WriteTimeout:
// output is bounded by MaxBufferedOutput), serves the requests that were
// read together with its own (pipelined: the h1conn's pipe) one after the
// other, and, if input waited meanwhile, arms EPOLLOUT so that the poller
// picks it up (onWrite). After the peer's
// FIN (EOF, or netpoll's hang-up) the operator is detached and the input
// left is processed by whoever ends the turn, off the poller; the
// connection closes when no request is left.

// startH1 makes c an HTTP/1.1 connection.
func (c *fdConn) startH1() (*h1conn, bool) {
	c.begin()
	h := newH1Conn(c.core, c, c.peer(), false)
	h.async = true
	h.resume = c.h1Resume
	h.strs = &c.ps.strs // requests are read on the poller (h1Rest takes its own)
	c.h1.Store(h)
	if !c.core.add(h) {
		h.close()
		return nil, false
	}
	return h, true
}

// processH1 handles bytes read for an HTTP/1.1 connection; see process.
func (c *fdConn) processH1(h *h1conn, data []byte) (int, bool) {
	total := 0
	for {
		n, more, ok := c.processH1Once(h, data[total:])
		total += n
		if !ok || !more {
			return total, ok
		}
	}
}

// processH1Once feeds data to h once. more says a handler took the turn
// and ended it already, with input left to process.
func (c *fdConn) processH1Once(h *h1conn, data []byte) (used int, more, ok bool) {
	if !h.takeTurn() {
		// A handler has the turn: the input waits in c.in, and the
		// reading pauses (fd_pause.go).
		if len(data) > c.keptBound() {
			c.h1Flood(h, len(data))
			return 0, false, false
		}
		return 0, false, true
	}
	used, need, done := h.input(data)
	if h.Hijacked() {
		return 0, false, false
	}
	if up := h.takeUpgrade(); up != nil {
		h2 := newH2ConnUpgrade(c.core, c, c.peer(), false, up)
		c.h2.Store(h2)
		c.h1.Store(nil)
		c.core.remove(h)
		if !c.core.add(h2) {
			h2.close()
			return 0, false, false
		}
		n, ok := c.process(data[used:])
		return used + n, false, ok
	}
	if done {
		c.dropIn()
		h.close()
		return 0, false, false
	}
	if used < len(data) && need > c.core.opts.MaxBufferedInput {
		c.h1Flood(h, need)
		return 0, false, false
	}
	if used < len(data) && need == 0 {
		// A request went to a handler with more input behind it: its end
		// resumes the connection, unless it came already.
		return used, !h.markWaiting(), true
	}
	return used, false, true
}

// h1Flood closes an HTTP/1.1 connection whose unprocessed input is above
// MaxBufferedInput (pipelined requests while a handler runs).
func (c *fdConn) h1Flood(h *h1conn, n int) {
	c.core.Metrics.FloodErrors.Add(1)
	c.core.logEvent(slog.LevelWarn, logAttrs{remote: c.peer(), counter: "FloodErrors"},
		"h2loop: http/1.1 from %v: %d bytes of unprocessed input (MaxBufferedInput %d), closing", c.peer(), n, c.core.opts.MaxBufferedInput)
	c.dropIn()
	h.close()
}

// h1Resume is called by the worker that ended a handler's turn, with the
// connection still open. If input waits and the peer is still there,
// EPOLLOUT wakes the poller (onWrite), which owns c.in; after the peer's
// FIN nothing runs on the poller any more, and the input is processed here.
func (c *fdConn) h1Resume(h *h1conn, waiting, peerDone bool) {
	switch {
	case peerDone:
		c.h1Rest(h)
	case waiting:
		c.kick()
	}
}

// kick arms EPOLLOUT (with nothing to send) so that the poller calls
// onWrite, which processes the input kept while a handler ran.
func (c *fdConn) kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resumeInputLocked() {
		return
	}
	c.kicked = true
	if c.out == nil {
		c.control(netpoll.PollR2RW)
	}
}

// h1PeerDone handles the peer's FIN (once): the socket leaves the poller,
// a running handler sees its request canceled (as net/http does), and the
// input read before the FIN is processed; the connection closes when
// nothing is left to answer. It runs on the poller (EOF in onRead) or on
// netpoll's hang-up goroutine, when no other callback touches c.in.
func (c *fdConn) h1PeerDone(h *h1conn) {
	for {
		st := c.state.Load()
		if st&(fdPeerDone|fdClosing) != 0 {
			return
		}
		if c.state.CompareAndSwap(st, st|fdPeerDone) {
			break
		}
	}
	c.detach()
	if h.peerGone() {
		c.h1Rest(h)
	}
}

// h1Rest processes the input kept after the peer's FIN by whoever has the
// turn now, and closes the connection once no request is left in it.
func (c *fdConn) h1Rest(h *h1conn) {
	for {
		c.readRest()
		if len(c.in) == 0 && c.state.Load()&fdRest == 0 {
			break
		}
		if h.strs == &c.ps.strs {
			h.strs = new(http1.Interner) // off the poller now
		}
		used, ok := c.processH1(h, c.in)
		if !ok {
			return
		}
		c.in = c.in[:copy(c.in, c.in[used:])]
		if h.busyTurn() {
			return // a handler runs: its end comes back here
		}
		if used == 0 {
			if c.state.Load()&fdRest != 0 && len(c.in) >= c.keptBound() {
				c.h1Flood(h, len(c.in)) // nothing in the kept input can be processed
				return
			}
			if c.state.Load()&fdRest == 0 {
				break // an incomplete request the client will never finish
			}
		}
	}
	c.dropIn()
	h.close()
}

// writeWait writes b from a worker, waiting while the socket refuses
// output (bounded by WriteTimeout): a handler's response is held back as a
// blocking write would hold it, and what waits in out stays below
// MaxBufferedOutput.
func (c *fdConn) writeWait(b []byte) error {
	step := max(c.core.opts.MaxBufferedOutput/2, 1)
	for len(b) > 0 {
		n := min(len(b), step)
		if err := c.write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if err := c.waitDrained(); err != nil {
			return err
		}
	}
	return nil
}

// waitDrained waits until no output waits for the socket.
func (c *fdConn) waitDrained() error {
	c.mu.Lock()
	if c.out == nil || c.fdClosed {
		c.mu.Unlock()
		return nil
	}
	if c.drained == nil {
		c.drained = make(chan struct{})
	}
	ch := c.drained
	c.mu.Unlock()
	t := time.NewTimer(c.core.opts.WriteTimeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		if c.timedOut() {
			c.core.writeTimedOut(c.peer())
			c.closeSoon()
		}
		return net.ErrClosed
	}
}

// wakeDrained wakes the writers waiting for out to drain; mu is held.
func (c *fdConn) wakeDrained() {
	if c.drained != nil {
		close(c.drained)
		c.drained = nil
	}
}

// hijack implements hijacker for a handler on a worker: the socket leaves
// the poller (Free waits for a callback in progress), and the input read
// beyond the request goes to the handler with a net.Conn of the socket.
func (c *fdConn) hijack(consumed int, unread []byte) (net.Conn, []byte, error) {
	if h := c.h1.Load(); h == nil || !h.async || h.inlineNow {
		return nil, nil, ErrNotSupported // on the poller: the operator cannot be freed there
	}
	c.state.Or(fdHandedOff)
	c.detach()
	c.op.Free()
	pre := append(append([]byte(nil), unread...), c.in...)
	c.dropIn()
	nc, err := c.fileConn()
	c.core.release()
	if err != nil {
		return nil, nil, err
	}
	c.std.Store(&nc)
	return nc, pre, nil
}
