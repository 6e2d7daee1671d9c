//go:build !windows

package loop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/codec"
)

type connKey struct{}

// npConn is one cleartext connection on the netpoll reactor. The first bytes
// decide its protocol: the HTTP/2 preface (prior knowledge), or an HTTP/1.1
// request (which may upgrade to h2c).
type npConn struct {
	core *Core
	nc   netpoll.Connection
	h2   *h2conn
	h1   *h1conn
	bad  bool
	fd   int // -1: no direct writes

	lingering atomic.Bool // write side shut down, input being drained

	// h1p is h1 for the poller's disconnect callback, which runs
	// concurrently with onRequest.
	h1p atomic.Pointer[h1conn]

	// Until its first bytes pick a protocol, the connection is registered
	// with the Core itself, so that one that never speaks is closed after
	// SettingsTimeout and by Shutdown and Close.
	accepted time.Time
	started  atomic.Bool // h2 or h1 took over

	// With the PROXY protocol: proxied says the header phase is over (the
	// header read or found absent, or the connection refused), and remote
	// is the client's address it named.
	proxied atomic.Bool
	remote  net.Addr

	// wmu orders direct writes to fd with the close callback, which runs
	// before netpoll closes fd: no write can reach a descriptor number the
	// kernel has already given to another connection.
	wmu      sync.Mutex
	fdClosed bool

	// hj is the connection a handler took (Hijack), set on the reading
	// goroutine.
	hj *hijackedConn
	hk *connHooks // immutable after onPrepare
}

func (c *npConn) hooks() *connHooks { return c.hk }

// hijack implements hijacker. The bytes the server used are skipped; the
// rest stays in netpoll's input buffer, where the handler's reads find it.
func (c *npConn) hijack(consumed int, unread []byte) (net.Conn, []byte, error) {
	if err := c.nc.Reader().Skip(consumed); err != nil {
		return nil, nil, err
	}
	c.nc.SetReadTimeout(0) // no ReadTimeout: the handler sets its own deadlines
	c.hj = &hijackedConn{c: c, done: make(chan struct{})}
	go c.watchHijacked()
	return c.hj, nil, nil
}

// hijackedConn is a netpoll connection handed to a handler (Hijack). Its
// reads take netpoll's input buffer, its writes go to the socket as the
// server's do. netpoll processes the connection on one goroutine at a
// time: that goroutine waits in serveH1 until the handler closes the
// connection, so that netpoll neither calls the server again for input
// the handler has not read yet nor frees the connection's buffers while
// the handler may use them.
type hijackedConn struct {
	c    *npConn
	done chan struct{} // closed by Close

	wmu    sync.Mutex // serialises writes, and Close with them
	closed atomic.Bool
}

func (h *hijackedConn) Read(p []byte) (int, error) {
	if h.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := h.c.nc.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, netpoll.ErrEOF):
		err = io.EOF
	case errors.Is(err, netpoll.ErrReadTimeout):
		err = os.ErrDeadlineExceeded
	case errors.Is(err, netpoll.ErrConnClosed):
		if h.closed.Load() {
			err = net.ErrClosed
		} else {
			err = io.EOF
		}
	}
	return n, err
}

func (h *hijackedConn) Write(b []byte) (int, error) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	if h.closed.Load() {
		return 0, net.ErrClosed
	}
	if err := h.c.write(b); err != nil {
		if errors.Is(err, netpoll.ErrWriteTimeout) {
			err = os.ErrDeadlineExceeded
		}
		return 0, err
	}
	return len(b), nil
}

// Close closes the connection once; a write in progress returns first.
func (h *hijackedConn) Close() error {
	if h.closed.Swap(true) {
		return net.ErrClosed
	}
	err := h.c.nc.Close() // wakes a read or a blocked write
	h.wmu.Lock()
	h.wmu.Unlock()
	close(h.done)
	return err
}

func (h *hijackedConn) LocalAddr() net.Addr                { return h.c.nc.LocalAddr() }
func (h *hijackedConn) RemoteAddr() net.Addr               { return h.c.peer() } // the PROXY header's client, if any
func (h *hijackedConn) SetDeadline(t time.Time) error      { return h.c.nc.SetDeadline(t) }
func (h *hijackedConn) SetReadDeadline(t time.Time) error  { return h.c.nc.SetReadDeadline(t) }
func (h *hijackedConn) SetWriteDeadline(t time.Time) error { return h.c.nc.SetWriteDeadline(t) }

// write implements sink. It writes to the socket directly, without a
// system call wrapper that enters the scheduler and without copying into
// netpoll's output buffer, which therefore holds no memory between
// responses. Only what the socket does not take at once (its send buffer is
// full) goes through netpoll's writer, which waits for the socket to drain,
// bounded by the write timeout. Callers serialise their writes.
func (c *npConn) write(b []byte) error {
	n, err := c.writeDirect(b)
	if err != nil {
		return err
	}
	if n == len(b) {
		return nil
	}
	c.core.Metrics.WritesBlocked.Add(1)
	defer c.watchInput()()
	w := c.nc.Writer()
	buf, err := w.Malloc(len(b) - n)
	if err != nil {
		return err
	}
	copy(buf, b[n:])
	err = w.Flush()
	if err != nil && errors.Is(err, netpoll.ErrWriteTimeout) {
		c.core.writeTimedOut(c.nc.RemoteAddr())
	}
	return err
}

// inputWatchPeriod is how often a blocked write checks the input netpoll
// buffers meanwhile.
const inputWatchPeriod = 10 * time.Millisecond

// watchInput bounds the input netpoll buffers while an HTTP/2 write blocks
// on a client that does not read: the reactor reads on meanwhile, and the
// Core's once-a-second tick alone would let a fast sender pile up a
// second's worth above MaxBufferedInput. It returns the function that
// stops the watch.
func (c *npConn) watchInput() (stop func()) {
	h := c.h2
	if h == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(inputWatchPeriod)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if n := c.buffered(); n > c.core.opts.MaxBufferedInput {
					h.tooMuchInput(n)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// tryWrite writes what of b the socket takes at once, and drops the rest.
func (c *npConn) tryWrite(b []byte) { c.writeDirect(b) }

// writeDirect writes as much of b as the socket takes without blocking.
func (c *npConn) writeDirect(b []byte) (int, error) {
	if c.fd < 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.fdClosed {
		return 0, netpoll.ErrConnClosed
	}
	return sendNoSignal(c.fd, b)
}

// lingerTime is how long a closing connection keeps draining input after
// its write side is shut down.
const lingerTime = time.Second

// closeSocket closes with a lingering close: closing a socket that still
// has unread input makes the kernel answer with a reset and drop what we
// queued (a final GOAWAY), so the write side is shut down first, input is
// drained and discarded for a moment, and then the socket is closed.
func (c *npConn) closeSocket() {
	if c.lingering.Load() {
		return // closing already: the linger timer closes it
	}
	if c.fd >= 0 && c.nc.IsActive() && c.lingering.CompareAndSwap(false, true) {
		// The descriptor is ours only until the close callback sets
		// fdClosed (under wmu): after that its number may already belong
		// to a connection accepted since, whose write side a shutdown by
		// number would cut (the client would see EOF before our preface).
		if c.shutWrite() {
			time.AfterFunc(lingerTime, func() { c.nc.Close() })
			return
		}
	}
	c.nc.Close()
}

// shutBoth shuts both sides of the socket down while the connection still
// owns its descriptor (see closeSocket).
func (c *npConn) shutBoth() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.fdClosed && c.fd >= 0 {
		syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	}
}

// shutWrite shuts the socket's write side down while the connection still
// owns its descriptor (see closeSocket).
func (c *npConn) shutWrite() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return !c.fdClosed && syscall.Shutdown(c.fd, syscall.SHUT_WR) == nil
}

func (c *npConn) netConn() net.Conn { return c.nc }

func (c *npConn) h1Conn() *h1conn { return c.h1p.Load() }

func (c *npConn) buffered() int { return c.nc.Reader().Len() }

// ReactorAvailable reports whether cleartext connections are served on
// netpoll's reactor; where it is false (windows), Server.Serve uses the
// standard library's net path (a goroutine per connection), as TLS does.
const ReactorAvailable = true

// NewEventLoop returns a netpoll event loop that serves cleartext HTTP/2
// (and HTTP/1.1) with this Core.
func (core *Core) NewEventLoop() (netpoll.EventLoop, error) {
	return netpoll.NewEventLoop(core.onRequest,
		netpoll.WithOnPrepare(core.onPrepare),
		netpoll.WithOnConnect(onConnect),
		netpoll.WithOnDisconnect(core.onDisconnect),
		netpoll.WithReadTimeout(core.opts.ReadTimeout),
		netpoll.WithWriteTimeout(core.opts.WriteTimeout),
	)
}

func (core *Core) onPrepare(nc netpoll.Connection) context.Context {
	if !core.admit(nc.RemoteAddr()) {
		nc.Close()
		return context.Background()
	}
	c := &npConn{core: core, nc: nc, fd: -1, accepted: time.Now()}
	if fdc, ok := nc.(interface{ Fd() int }); ok {
		c.fd = fdc.Fd()
		noSigPipe(c.fd)
	}
	if !core.add(c) {
		c.bad = true // shutting down: closed on its first bytes, or by netpoll's own shutdown
	}
	hk, hooked := core.newConnHooks(nc)
	c.hk = hk
	nc.AddCloseCallback(func(netpoll.Connection) error {
		// Runs before netpoll's own close callback closes the descriptor,
		// on a goroutine nothing else recovers.
		defer func() {
			if p := recover(); p != nil {
				core.recovered("close callback", c.nc.RemoteAddr(), p)
			}
		}()
		c.wmu.Lock()
		c.fdClosed = true
		c.wmu.Unlock()
		core.release()
		if !c.started.Load() {
			core.remove(c)
		}
		if c.h2 != nil {
			c.h2.onClosed()
		}
		if c.h1 != nil {
			c.h1.onClosed()
		}
		c.hk.end(http.StateClosed) // nothing after StateHijacked
		return nil
	})
	if !hooked {
		// ConnContext or ConnState panicked: the connection is closed
		// (now that the close callback releases it).
		c.bad = true
		nc.Close()
	}
	return context.WithValue(context.Background(), connKey{}, c)
}

// onConnect runs once a connection is registered with the poller (and
// before any onRequest). netpoll gives a new connection a read buffer of
// netpollBufferSize at once; a Release with no input hands it back, so a
// connection that has sent nothing yet holds no buffer.
func onConnect(ctx context.Context, nc netpoll.Connection) context.Context {
	nc.Reader().Release()
	return ctx
}

// onDisconnect runs when the poller sees the peer hang up, even while
// onRequest is still running (an HTTP/1.1 handler runs there): the request
// being served is canceled at once, as net/http does, instead of when the
// handler returns and netpoll gets to the close callback.
func (core *Core) onDisconnect(ctx context.Context, nc netpoll.Connection) {
	c, _ := ctx.Value(connKey{}).(*npConn)
	if c == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			core.recovered("disconnect callback", nc.RemoteAddr(), p)
		}
	}()
	if h1 := c.h1Conn(); h1 != nil {
		h1.disconnected()
	}
}

func (core *Core) onRequest(ctx context.Context, nc netpoll.Connection) (err error) {
	c, _ := ctx.Value(connKey{}).(*npConn)
	if c == nil || c.bad {
		return nc.Close()
	}
	defer func() {
		if p := recover(); p != nil {
			core.recovered("reactor callback", nc.RemoteAddr(), p)
			c.bad = true
			err = nc.Close()
		}
	}()
	r := nc.Reader()
	if c.lingering.Load() {
		r.Skip(r.Len()) // closing: input is drained and discarded
		return r.Release()
	}
	if c.h2 == nil && c.h1 == nil {
		if c.core.opts.Proxy != nil && !c.proxied.Load() {
			if !c.proxyHeader(r) {
				c.bad = true
				return nc.Close()
			}
			if r.Len() == 0 {
				return r.Release()
			}
		}
		if !c.sniff(r) {
			c.bad = true
			return nc.Close()
		}
	}
	if c.h1 != nil {
		if !c.serveH1(r) {
			return nil
		}
		if c.h2 == nil {
			return nil
		}
	}
	c.serveH2(r)
	return nil
}

// sniff picks the protocol from the first bytes (see sniff), waiting for
// the whole preface before committing to HTTP/2.
func (c *npConn) sniff(r netpoll.Reader) bool {
	buf, err := r.Peek(min(r.Len(), len(codec.ClientPreface)))
	if err != nil {
		return false
	}
	p := sniff(buf, c.core.opts.DisableHTTP1)
	if p == sniffMore {
		if buf, err = r.Peek(len(codec.ClientPreface)); err != nil {
			return false
		}
		p = sniff(buf, c.core.opts.DisableHTTP1)
	}
	switch p {
	case sniffH2:
		c.startH2()
		return true
	case sniffH1:
		return c.startH1()
	}
	return false
}

// begin hands the connection over from the Core's registry of connections
// that have not spoken yet to the protocol that takes it.
func (c *npConn) begin() {
	c.started.Store(true)
	c.core.remove(c)
}

// The closer methods, for a connection that has not picked a protocol.

func (c *npConn) tick(now time.Time) {
	if c.proxyTick(now) {
		return
	}
	if limit := c.core.opts.Engine.SettingsTimeout; !c.started.Load() && now.Sub(c.accepted) > limit {
		c.core.Metrics.Timeouts.Add(1)
		c.core.logEvent(slog.LevelWarn, logAttrs{remote: c.nc.RemoteAddr(), counter: "Timeouts"}, "h2loop: %v: nothing received within %v: closing", c.nc.RemoteAddr(), limit)
		c.nc.Close()
	}
}

func (c *npConn) shutdown() {
	if !c.started.Load() {
		c.nc.Close()
	}
}

func (c *npConn) close() {
	if !c.started.Load() {
		c.nc.Close()
	}
}

func (c *npConn) idle() bool { return !c.started.Load() }

func (c *npConn) startH2() {
	c.begin()
	c.h2 = newH2Conn(c.core, c, c.peer(), false)
	if !c.core.add(c.h2) {
		c.h2.close()
	}
}

func (c *npConn) startH1() bool {
	c.begin()
	c.h1 = newH1Conn(c.core, c, c.peer(), false)
	c.h1p.Store(c.h1)
	if !c.core.add(c.h1) {
		c.h1.close()
		return false
	}
	return true
}

// serveH2 processes everything buffered, blocking for the rest of a partial
// frame (returning with a partial frame buffered would make netpoll call us
// again at once).
func (c *npConn) serveH2(r netpoll.Reader) {
	h := c.h2
	h.beginLoop()
	for {
		n := r.Len()
		if n == 0 {
			break
		}
		if n > c.core.opts.MaxBufferedInput {
			// netpoll reads on while we process: bound what piles up on
			// every pass, not only at the once-a-second tick.
			h.tooMuchInput(n)
			r.Skip(r.Len())
			break
		}
		buf, err := r.Peek(n)
		if err != nil {
			break
		}
		used, need, done := h.input(buf)
		if used > 0 {
			r.Skip(used)
		}
		if done {
			r.Skip(r.Len()) // the connection is finished: the rest is discarded
			break
		}
		if rest := n - used; rest > 0 && rest < need {
			// A partial frame: flush what we have (the client may be waiting
			// for a WINDOW_UPDATE) and wait for the rest.
			h.endLoop()
			_, err := r.Peek(need)
			h.beginLoop()
			if err != nil {
				// The rest of the frame did not come within ReadTimeout
				// (or the connection died): a stalled peer would otherwise
				// hold this goroutine again and again.
				c.core.logf("h2loop: %v: incomplete frame: %v", c.nc.RemoteAddr(), err)
				h.close()
				r.Skip(r.Len()) // dropped: nothing is left for netpoll to call us with again
				break
			}
		}
	}
	r.Release()
	h.endLoop()
}

// serveH1 runs HTTP/1.1 requests; it reports whether the connection goes on
// (as HTTP/1.1 or, after an upgrade, as HTTP/2).
func (c *npConn) serveH1(r netpoll.Reader) bool {
	h := c.h1
	for {
		n := r.Len()
		if n == 0 {
			break
		}
		buf, err := r.Peek(n)
		if err != nil {
			break
		}
		used, need, done := h.input(buf)
		if h.Hijacked() {
			// The handler took the connection (its bytes are skipped
			// already); this goroutine holds netpoll's processing of it
			// until the handler closes it.
			<-c.hj.done
			return false
		}
		if used > 0 {
			r.Skip(used)
		}
		if up := h.takeUpgrade(); up != nil {
			c.h2 = newH2ConnUpgrade(c.core, c, c.peer(), false, up)
			c.core.remove(c.h1)
			c.h1 = nil
			c.h1p.Store(nil)
			if !c.core.add(c.h2) {
				c.h2.close()
				return false
			}
			return true
		}
		if done {
			r.Release()
			h.close()
			return false
		}
		if rest := n - used; rest > 0 && rest < need {
			if _, err := r.Peek(need); err != nil {
				// The rest of the request did not come (the client went
				// away, or ReadTimeout passed): the partial request is
				// dropped and the connection closed. Returning with it
				// still buffered made netpoll call us again at once, a
				// goroutine spinning on a socket left in CLOSE_WAIT.
				c.core.logf("h2loop: http/1.1 from %v: incomplete request: %v", c.nc.RemoteAddr(), err)
				r.Skip(r.Len())
				r.Release()
				h.close()
				return false
			}
		} else if used == 0 {
			break
		}
	}
	r.Release()
	return true
}

// hijackWatchPeriod is how often the goroutine holding a hijacked
// connection checks the input netpoll buffers for it.
const hijackWatchPeriod = 10 * time.Millisecond

// watchHijacked runs until the handler closes the connection it took. The
// reactor reads on meanwhile, into netpoll's buffer, whether the handler
// reads or not: above MaxBufferedInput unread bytes the connection is
// closed (counted in FloodErrors, logged), which the handler's next read
// or write sees.
func (c *npConn) watchHijacked() {
	t := time.NewTicker(hijackWatchPeriod)
	defer t.Stop()
	closed := false
	for {
		select {
		case <-c.hj.done:
			return
		case <-t.C:
			if n := c.buffered(); !closed && n > c.core.opts.MaxBufferedInput {
				closed = true
				c.core.Metrics.FloodErrors.Add(1)
				c.core.logEvent(slog.LevelWarn, logAttrs{remote: c.peer(), counter: "FloodErrors"},
					"h2loop: %v: hijacked connection: %d bytes its handler has not read (MaxBufferedInput %d): closing", c.peer(), n, c.core.opts.MaxBufferedInput)
				// netpoll defers the close while the handler holds its
				// processing goroutine: shut the socket down at once, so
				// that the reactor reads no more.
				c.shutBoth()
				c.nc.Close()
			}
		}
	}
}

// remoteAddr is a helper for transports without one.
func remoteAddr(nc net.Conn) net.Addr {
	if nc == nil {
		return nil
	}
	return nc.RemoteAddr()
}
