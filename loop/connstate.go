package loop

import (
	"context"
	"net"
	"net/http"
	"runtime/debug"
	"sync"

	"github.com/h2loop/h2loop/engine"
)

// connHooks runs Options.ConnState and Options.ConnContext for one socket
// (it outlives an h2c upgrade). A connection has none, and pays nothing,
// when neither option is set.
type connHooks struct {
	// immutable after newConnHooks
	core *Core
	nc   net.Conn
	ctx  context.Context

	mu     sync.Mutex // serialises the ConnState calls of the connection
	active int        // handlers running
	final  bool       // StateHijacked or StateClosed was reported
}

// newConnHooks starts the hooks of a newly accepted connection: it makes
// the connection's context and reports StateNew. It returns nil when
// neither hook is set. ok is false when ConnContext or the StateNew
// report panicked (recovered, counted and logged): the caller closes the
// connection, and nothing more is reported for it.
func (c *Core) newConnHooks(nc net.Conn) (hk *connHooks, ok bool) {
	if c.opts.ConnState == nil && c.opts.ConnContext == nil {
		return nil, true
	}
	hk = &connHooks{core: c, nc: nc}
	if c.opts.ConnContext != nil && !hk.makeContext() || !hk.reportOnce(http.StateNew) {
		hk.final = true
		return hk, false
	}
	return hk, true
}

// makeContext calls ConnContext, and reports false if it panicked.
func (hk *connHooks) makeContext() (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			hk.core.CallbackPanicked("ConnContext", remoteOf(hk.nc), p)
		}
	}()
	hk.ctx = hk.core.opts.ConnContext(hk.nc)
	return true
}

// reportOnce reports s under hk.mu.
func (hk *connHooks) reportOnce(s http.ConnState) bool {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	return hk.report(s)
}

// report calls ConnState; hk.mu is held. A panic in it is recovered,
// counted and logged, and reported as false.
func (hk *connHooks) report(s http.ConnState) (ok bool) {
	f := hk.core.opts.ConnState
	if f == nil {
		return true
	}
	defer func() {
		if p := recover(); p != nil {
			hk.core.CallbackPanicked("ConnState", remoteOf(hk.nc), p)
		}
	}()
	f(hk.nc, s)
	return true
}

// remoteOf is nc's remote address, nil without a connection.
func remoteOf(nc net.Conn) net.Addr {
	if nc == nil {
		return nil
	}
	return nc.RemoteAddr()
}

// CallbackPanicked handles a panic recovered from a user callback that
// runs outside a handler (what names it): it is counted in
// Metrics.CallbackPanics and logged with its stack, always (to the
// standard logger when no log is set).
func (c *Core) CallbackPanicked(what string, remote net.Addr, p any) {
	c.Metrics.CallbackPanics.Add(1)
	if remote == nil {
		c.logPanic(logAttrs{counter: "CallbackPanics"}, "h2loop: panic in %s: %v\n%s", what, p, debug.Stack())
		return
	}
	c.logPanic(logAttrs{remote: remote, counter: "CallbackPanics"}, "h2loop: panic in %s (%v): %v\n%s", what, remote, p, debug.Stack())
}

// context is the connection's context from ConnContext, or nil.
func (hk *connHooks) context() context.Context {
	if hk == nil {
		return nil
	}
	return hk.ctx
}

// busy counts a handler starting: the first makes the connection active.
func (hk *connHooks) busy() {
	if hk == nil {
		return
	}
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if hk.active++; hk.active == 1 && !hk.final {
		hk.report(http.StateActive)
	}
}

// idle counts a handler done: the last makes the connection idle.
func (hk *connHooks) idle() {
	if hk == nil {
		return
	}
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if hk.active--; hk.active == 0 && !hk.final {
		hk.report(http.StateIdle)
	}
}

// end reports the last state, StateHijacked or StateClosed, once.
func (hk *connHooks) end(s http.ConnState) {
	if hk == nil {
		return
	}
	hk.mu.Lock()
	defer hk.mu.Unlock()
	if !hk.final {
		hk.final = true
		hk.report(s)
	}
}

// hooked is a transport with connection hooks.
type hooked interface{ connHooks() *connHooks }

// serve runs the handler of r: Hooks.Serve, between the ConnState
// transitions of its connection.
func (c *Core) serve(r *engine.Request, t Transport) {
	if c.opts.ConnState == nil {
		c.opts.Hooks.Serve(r, t) // no transitions to report
		return
	}
	var hk *connHooks
	if x, ok := t.(hooked); ok {
		hk = x.connHooks()
	}
	if hk == nil {
		c.opts.Hooks.Serve(r, t)
		return
	}
	hk.busy()
	defer hk.idle()
	c.opts.Hooks.Serve(r, t)
}
