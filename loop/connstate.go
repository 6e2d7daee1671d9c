package loop

import (
	"context"
	"net"
	"net/http"
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
// neither hook is set.
func (c *Core) newConnHooks(nc net.Conn) *connHooks {
	if c.opts.ConnState == nil && c.opts.ConnContext == nil {
		return nil
	}
	hk := &connHooks{core: c, nc: nc}
	if c.opts.ConnContext != nil {
		hk.ctx = c.opts.ConnContext(nc)
	}
	hk.reportOnce(http.StateNew)
	return hk
}

// reportOnce reports s under hk.mu.
func (hk *connHooks) reportOnce(s http.ConnState) {
	hk.mu.Lock()
	defer hk.mu.Unlock()
	hk.report(s)
}

// report calls ConnState; hk.mu is held.
func (hk *connHooks) report(s http.ConnState) {
	if f := hk.core.opts.ConnState; f != nil {
		f(hk.nc, s)
	}
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
