package loop

import (
	"errors"
	"net"
	"net/http"

	"github.com/h2loop/h2loop/engine"
)

// Hijack (http.Hijacker) of an HTTP/1.1 connection: each transport's sink
// hands its socket over its own way (std: the net.Conn; netpoll: a
// net.Conn over netpoll's buffers; fd reactor: a net.Conn of the socket,
// off the poller).

// ErrHijacked is returned by Hijack when the connection was taken already.
var ErrHijacked = errors.New("h2loop: connection already hijacked")

// ErrNotSupported is returned by Hijack on a connection that cannot be
// handed over (HTTP/2, or a connection served from memory).
var ErrNotSupported = errors.New("h2loop: hijacking not supported")

// hijacker is a sink that can hand its socket to a handler.
type hijacker interface {
	// hijack takes the socket away from the server. consumed is how many
	// bytes of the input the server has used (up to the end of the
	// request being served) and unread what it has read beyond them.
	// It returns the connection and the bytes the handler must read
	// before reading from it.
	hijack(consumed int, unread []byte) (net.Conn, []byte, error)
}

// Hijack hands the connection to the handler serving r (http.Hijacker):
// the responses before r are written, the server stops reading, timing
// and closing it, and no response to r is sent. It returns the
// connection and the bytes already read after r's request (a pipelined
// request, or a protocol's first bytes), which come before anything read
// from the connection. Called by the handler.
func (h *h1conn) Hijack(r *engine.Request) (net.Conn, []byte, error) {
	if h.hijacked.Load() {
		return nil, nil, ErrHijacked
	}
	hj, ok := h.sink.(hijacker)
	if !ok || !h.isServing(r) {
		return nil, nil, ErrNotSupported
	}
	if h.closed.Load() {
		return nil, nil, ErrCanceled
	}
	if err := h.flush(); err != nil {
		return nil, nil, err
	}
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	nc, pre, err := hj.hijack(h.consumed, h.unread)
	if err != nil {
		return nil, nil, err
	}
	h.unread = nil
	h.hk.end(http.StateHijacked)
	h.hijacked.Store(true)
	h.closed.Store(true) // nothing more is read or written by the server
	h.core.remove(h)
	return nc, pre, nil
}

// Hijacked reports whether a handler took the connection.
func (h *h1conn) Hijacked() bool { return h.hijacked.Load() }
