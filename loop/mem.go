package loop

import (
	"net"
	"time"
)

// MemConn is an HTTP/2 connection served from memory: bytes come in through
// Feed and the server's output goes to a callback. Tests and benchmarks use
// it to drive the whole server path — engine, request contexts, handlers —
// without sockets. With Options.InlineHandlers, handlers run inside Feed.
type MemConn struct {
	h *h2conn
}

type memSink struct {
	w  func([]byte)
	hk *connHooks
}

func (m memSink) write(b []byte) error { m.w(b); return nil }
func (m memSink) closeSocket()         {}
func (m memSink) buffered() int        { return 0 }
func (m memSink) netConn() net.Conn    { return nil }
func (m memSink) hooks() *connHooks    { return m.hk }

// NewMemConn starts a connection whose output is passed to w (the slice is
// only valid during the call).
func (core *Core) NewMemConn(w func(b []byte)) *MemConn {
	// Its hooks (Options.ConnState, ConnContext) see a nil net.Conn.
	hk, ok := core.newConnHooks(nil)
	h := newH2Conn(core, memSink{w: w, hk: hk}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, false)
	core.add(h) // as any connection: its timers (and the date) tick
	if !ok {
		h.close() // a hook panicked
	}
	return &MemConn{h: h}
}

// Feed processes b (which must hold whole frames) and writes the output.
// It reports whether the connection is still open.
func (m *MemConn) Feed(b []byte) bool {
	h := m.h
	h.beginLoop()
	used, _, done := h.input(b)
	h.endLoop()
	return used == len(b) && !done && !h.is(flagClosed)
}

// Tick runs the connection's timers.
func (m *MemConn) Tick(now time.Time) { m.h.tick(now) }

// Close aborts the connection.
func (m *MemConn) Close() { m.h.close() }
