// Package loop moves bytes between sockets and protocol engines: a netpoll
// reactor for cleartext connections and a crypto/tls path with ALPN.
package loop

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/pool"
)

// Transport is what a request context calls to move body bytes and finish
// the response; each connection kind implements it.
type Transport interface {
	// ReadBody reads request body bytes, blocking until some arrive. It
	// returns io.EOF at the end of the body and ErrCanceled after a reset.
	ReadBody(r *engine.Request, p []byte) (int, error)
	// AckBody returns window credit for r in manual mode.
	AckBody(r *engine.Request, n int)
	// CloseBody discards the rest of r's request body: a ReadBody waiting
	// for bytes, and every later one, returns ErrBodyClosed. The response
	// is not affected.
	CloseBody(r *engine.Request)
	// Flush sends the response headers and the body written so far,
	// blocking until the body buffer can be reused.
	Flush(r *engine.Request) error
	// Finish completes the response after the handler returned.
	Finish(r *engine.Request)
	// Reset aborts the stream of r.
	Reset(r *engine.Request)
	// Interim sends an informational (1xx) response before the final one,
	// with the response fields r.RespHeader[from:]. It returns
	// ErrCanceled when the stream is gone and ErrInterim when the final
	// response has started or the protocol cannot carry status.
	Interim(r *engine.Request, status, from int) error
	// RemoteAddr is the client's address.
	RemoteAddr() net.Addr
	// RemoteAddrString is RemoteAddr().String(), made once per connection.
	RemoteAddrString() string
	// LocalAddr is the address the connection was accepted on (nil for a
	// connection served from memory).
	LocalAddr() net.Addr
	// ConnContext is the connection's context from Options.ConnContext,
	// or nil.
	ConnContext() context.Context
	// Proto is "HTTP/2.0" or "HTTP/1.1".
	Proto() string
	// TLS reports whether the connection is encrypted.
	TLS() bool
	// TLSState is the connection's TLS state after the handshake, nil over
	// cleartext. It is shared by the connection's requests: read only.
	TLSState() *tls.ConnectionState
}

// Hooks connect the transports to the request contexts of the server.
type Hooks struct {
	// Acquire returns a reset Request whose Owner is the server's context.
	Acquire func() *engine.Request
	// Release takes back a Request from Acquire.
	Release func(r *engine.Request)
	// Serve runs the handler for r on the calling goroutine and then calls
	// t.Finish(r).
	Serve func(r *engine.Request, t Transport)
	// Canceled tells the context of r that its stream died.
	Canceled func(r *engine.Request)
}

// Options configure the transports.
//
// The fields marked "h2loop.Server option" are the Server's transport
// options: the Server's fields and their docs are generated from these (go
// generate in the module's root runs internal/optgen), so these docs are
// written for the Server's users, and a change here is a change there.
type Options struct {
	Engine engine.Config
	Hooks  Hooks
	// InlineHandlers runs handlers on the goroutine that read the request,
	// skipping the worker pool: fastest, but only for handlers that never
	// block.
	InlineHandlers bool // h2loop.Server option
	// Inline, when set, decides per complete request whether its handler
	// runs inline (as InlineHandlers does for all).
	Inline func(r *engine.Request) bool
	// MaxWorkers bounds concurrently running HTTP/2 handlers. Default
	// 10000.
	//
	// Dispatch: a request whose headers are complete starts its handler at
	// once, on an idle worker or a new one, while fewer than MaxWorkers
	// handlers run; it never waits behind another handler while the limit
	// allows another worker. At MaxWorkers it waits in a queue of
	// QueueSize requests for at most QueueTimeout, and a worker that frees
	// up takes the oldest. A request that finds the queue full, or waits
	// longer, is refused with RST_STREAM(REFUSED_STREAM) (nothing was
	// processed; clients may retry), counted in Stats.Overloaded and
	// logged. The reading goroutine never waits for a worker.
	//
	// An HTTP/1.1 connection runs its requests' handlers one at a time.
	// On the fd reactor they go to the workers too (at MaxWorkers and a
	// full or expired queue the request is answered 503 and the
	// connection closed); on the netpoll reactor, over TLS and on
	// windows they run on the connection's own goroutine, as net/http
	// does, bounded by MaxConns, not by MaxWorkers.
	MaxWorkers int // h2loop.Server option
	// QueueSize bounds the requests waiting for a worker while MaxWorkers
	// handlers run; a request that finds it full is refused at once.
	// Default 1024.
	QueueSize int // h2loop.Server option
	// QueueTimeout bounds how long a request waits for a worker; then it
	// is refused. Default 1s.
	QueueTimeout time.Duration // h2loop.Server option
	// WorkerIdleTimeout is how long an idle worker goroutine waits for a
	// request before it exits: after a burst, workers and their stacks are
	// given back within it. Default 10s.
	WorkerIdleTimeout time.Duration // h2loop.Server option
	// WriteTimeout bounds one blocked socket write (a client that does not
	// read): when it passes, the connection is closed, counted in
	// Stats.Timeouts. It is not a bound on the whole response, as
	// net/http's is. Default 30s.
	WriteTimeout time.Duration // h2loop.Server option
	// ReadTimeout bounds how long an HTTP/1.1 request body may make no
	// progress, and the wait for the rest of a partially received HTTP/2
	// frame (cleartext and TLS).
	// It is not a bound on the whole request, as net/http's is: stalled
	// HTTP/2 streams end after StreamIdleTimeout and header sections after
	// HeaderTimeout. Default 30s.
	ReadTimeout time.Duration // h2loop.Server option
	// MaxBufferedInput bounds the bytes a connection may have received but
	// not processed (the reactor keeps reading while a write to a client
	// that does not read is blocked); above it the connection is closed.
	// An HTTP/1.1 connection on the fd reactor stops reading instead while
	// a handler runs, once it holds the smaller of this and 32 KiB of what
	// the client sent next: the rest waits in the socket, as with net/http.
	// Default: InitialConnWindow plus 1 MiB.
	MaxBufferedInput int // h2loop.Server option
	// MaxConns bounds open connections of every kind (cleartext and TLS,
	// HTTP/2 and HTTP/1.1, and ones that have not sent anything yet).
	// Connections accepted above it are closed at once, counted in
	// Stats.ConnsRejected and logged (one line a second at most). Default
	// 100000 (an idle HTTP/2 connection costs about 1.75 KB of RSS on the
	// fd reactor, 6 KB on netpoll's connections).
	MaxConns int // h2loop.Server option
	// MaxBufferedOutput bounds the output of a connection on the fd
	// reactor that its socket did not take yet (default 1 MiB, at most
	// 1 GiB); above it
	// the connection is closed. While any waits, DATA stays in the engine
	// and input is not processed, so this is what handlers that finish
	// meanwhile add.
	MaxBufferedOutput int
	// Reactor picks the transport of cleartext connections: "fd", each
	// socket registered on netpoll's pollers with an operator of its own
	// (HTTP/2 and HTTP/1.1 read and parsed on the poller, handlers on the
	// workers; about 1.75 KB of RSS per idle HTTP/2 connection, 1.7 KB per
	// idle HTTP/1.1 one, no goroutine for either), or
	// "netpoll", netpoll's own connections (about 5.7 KB per idle
	// connection, HTTP/1.1 served on the reactor too). Empty means the
	// environment variable H2LOOP_REACTOR, else "fd" on Linux and
	// "netpoll" on the other platforms with a reactor. Windows serves
	// everything on the standard library's path.
	Reactor string // h2loop.Server option
	// Date, when set, replaces the clock for the Date field of HTTP/1.1
	// responses (tests); HTTP/2 responses use Engine.Date.
	Date func() string
	// DisableHTTP1 refuses HTTP/1.1. On cleartext connections, bytes that
	// are not the HTTP/2 preface close the connection (no Upgrade to h2c
	// either). Over TLS, ALPN offers "h2" alone (unless TLSConfig sets
	// NextProtos), and a connection whose ALPN did not pick "h2" (a client
	// without ALPN) is closed after the handshake, with a log line.
	DisableHTTP1 bool // h2loop.Server option
	// Logf receives transport log lines.
	Logf func(format string, args ...any)

	// Proxy, when set, reads a PROXY protocol header on every connection.
	Proxy *ProxyOptions

	// Log, when set, receives every log line instead of Logf, as a
	// message (the line) with attributes: "remote" (the peer's address),
	// "stream" (the HTTP/2 stream id), "code" (the HTTP/2 error code),
	// "counter" (the Metrics counter the event was counted in).
	Log func(level slog.Level, msg string, attrs ...slog.Attr)

	// ConnState, when set, is told each connection's state changes, with
	// net/http's states: StateNew when accepted, StateActive while an
	// HTTP/1.1 request is read and served or HTTP/2 handlers run,
	// StateIdle between, and StateHijacked or StateClosed at its end.
	// Calls for one connection never overlap. h2loop.Server.ConnState
	// documents it for users.
	ConnState func(c net.Conn, state http.ConnState)
	// ConnContext, when set, makes the context of a newly accepted
	// connection, which its requests' contexts derive from.
	ConnContext func(c net.Conn) context.Context
}

type task struct {
	r *engine.Request
	t Transport
}

// Core is the state shared by every connection of a server: options, worker
// pool, metrics and the set of live connections.
type Core struct {
	// immutable after NewCore
	opts    Options
	pool    *pool.Pool[task]
	Metrics engine.Metrics

	open        atomic.Int64 // accepted connections not yet closed
	rejectLog   atomic.Int64 // unix second of the last "too many connections" line
	overloadLog atomic.Int64 // unix second of the last "request refused" line

	// the HTTP date of responses, refreshed by the ticker while it runs
	date    atomic.Pointer[httpDate]
	ticking atomic.Bool

	mu sync.Mutex
	// the live connections: those of the fd reactor in list, each
	// knowing its position (slotted), the others in conns. A map entry
	// costs about 50 bytes a connection, a list entry 16.
	conns    map[closer]struct{}
	list     []closer
	shutdown atomic.Bool
	stopTick chan struct{}
	accept   map[stopper]struct{} // the fd reactor's listeners

	tickOnce sync.Once
	closed   atomic.Bool

	reap fdReaper // the fd reactor's closes, run by the ticker
}

// stopper is a listener that Shutdown and Close stop.
type stopper interface{ finish(err error) }

// addAcceptor registers a listener; false means it must stop at once.
func (c *Core) addAcceptor(a stopper) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() || c.shutdown.Load() {
		return false
	}
	if c.accept == nil {
		c.accept = make(map[stopper]struct{})
	}
	c.accept[a] = struct{}{}
	return true
}

func (c *Core) removeAcceptor(a stopper) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.accept, a)
}

// stopAccepting stops the listeners of the fd reactor.
func (c *Core) stopAccepting() {
	c.mu.Lock()
	as := make([]stopper, 0, len(c.accept))
	for a := range c.accept {
		as = append(as, a)
	}
	c.mu.Unlock()
	for _, a := range as {
		a.finish(nil)
	}
}

// closer is a live connection of any kind.
type closer interface {
	tick(now time.Time)
	shutdown()
	close()
	idle() bool
}

// NewCore returns a Core; opts.Engine is normalised. Zero or negative
// limits and timeouts mean their defaults.
func NewCore(opts Options) *Core {
	opts.Engine.Normalize()
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.MaxWorkers <= 0 {
		opts.MaxWorkers = 10000
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 100000
	}
	if opts.WorkerIdleTimeout <= 0 {
		opts.WorkerIdleTimeout = pool.DefaultIdleTimeout
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 30 * time.Second
	}
	if opts.Proxy != nil && opts.Proxy.Timeout <= 0 {
		p := *opts.Proxy
		p.Timeout = 5 * time.Second
		opts.Proxy = &p
	}
	opts.MaxBufferedOutput = min(opts.MaxBufferedOutput, 1<<30) // fdConn's 32-bit offsets
	if opts.MaxBufferedOutput <= 0 {
		opts.MaxBufferedOutput = 1 << 20
	}
	if opts.Reactor == "" {
		opts.Reactor = os.Getenv("H2LOOP_REACTOR")
	}
	if opts.Reactor == "" {
		opts.Reactor = defaultReactor
	}
	if opts.MaxBufferedInput <= 0 {
		opts.MaxBufferedInput = int(opts.Engine.InitialConnWindow) + 1<<20
	}
	c := &Core{opts: opts, conns: make(map[closer]struct{}), stopTick: make(chan struct{})}
	c.reap.init()
	c.refreshDate(time.Now())
	if c.opts.Date == nil {
		c.opts.Date = c.Date
	}
	if c.opts.Engine.Date == nil {
		c.opts.Engine.Date = c.Date
	}
	c.pool = pool.New(pool.Options[task]{
		MaxWorkers:   opts.MaxWorkers,
		QueueSize:    opts.QueueSize,
		QueueTimeout: opts.QueueTimeout,
		IdleTimeout:  opts.WorkerIdleTimeout,
		Run:          func(t task) { c.serve(t.r, t.t) },
		Expire: func(t task) {
			switch h := t.t.(type) {
			case *h2conn:
				h.refuse(t.r, "no worker became free within QueueTimeout")
			case *h1conn:
				h.refuseOverload(t.r, "no worker became free within QueueTimeout")
			}
		},
		Panicked: func(t task, p any) {
			c.recovered("worker", t.t.RemoteAddr(), p)
		},
	})
	return c
}

// recovered handles a panic recovered at a boundary of the transport (a
// reactor callback, a transport call, a timer): it is counted and logged
// with its stack, always (to the standard logger when no Logf is set):
// a panic here is a bug, and the connection it hit is closed by the caller.
func (c *Core) recovered(where string, remote net.Addr, p any) {
	c.Metrics.Panics.Add(1)
	c.logPanic(logAttrs{remote: remote, counter: "Panics"}, "h2loop: panic in %s (%v): %v\n%s", where, remote, p, debug.Stack())
}

// admit counts a newly accepted connection in, or reports false (and
// counts and logs the rejection, at most one line a second) when MaxConns
// are open; the caller then closes it. Every admitted connection is
// released exactly once, when it closes.
func (c *Core) admit(remote net.Addr) bool {
	if c.open.Add(1) <= int64(c.opts.MaxConns) {
		return true
	}
	c.open.Add(-1)
	c.Metrics.ConnsRejected.Add(1)
	now := time.Now().Unix()
	if last := c.rejectLog.Load(); last != now && c.rejectLog.CompareAndSwap(last, now) {
		c.logEvent(slog.LevelWarn, logAttrs{remote: remote, counter: "ConnsRejected"}, "h2loop: %v: %d connections open (MaxConns): closing new connections (%d so far)", remote, c.opts.MaxConns, c.Metrics.ConnsRejected.Load())
	}
	return false
}

func (c *Core) release() { c.open.Add(-1) }

// overloaded counts a request refused because MaxWorkers handlers are
// busy, and logs it (one line a second at most).
func (c *Core) overloaded(remote net.Addr, why string) {
	n := c.Metrics.Overloaded.Add(1)
	now := time.Now().Unix()
	if last := c.overloadLog.Load(); last != now && c.overloadLog.CompareAndSwap(last, now) {
		c.logEvent(slog.LevelWarn, logAttrs{remote: remote, counter: "Overloaded"}, "h2loop: %v: request refused: %d handlers running (MaxWorkers) and %s (%d refused so far)", remote, c.opts.MaxWorkers, why, n)
	}
}

// addrString is a connection's remote address as a string, made on first
// use and then shared by every request of the connection.
type addrString struct{ p atomic.Pointer[string] }

func (a *addrString) get(addr net.Addr) string {
	if p := a.p.Load(); p != nil {
		return *p
	}
	if addr == nil {
		return ""
	}
	s := addr.String()
	a.p.Store(&s)
	return s
}

// localAddr is the local address of the socket behind s, or nil.
func localAddr(s sink) net.Addr {
	if nc := s.netConn(); nc != nil {
		return nc.LocalAddr()
	}
	return nil
}

// writeTimedOut records a write that waited WriteTimeout for a peer that
// does not read; the connection is then closed by the caller.
func (c *Core) writeTimedOut(remote net.Addr) {
	c.Metrics.Timeouts.Add(1)
	c.logEvent(slog.LevelWarn, logAttrs{remote: remote, counter: "Timeouts"}, "h2loop: %v: write timed out after %v (the peer is not reading): closing", remote, c.opts.WriteTimeout)
}

// FDReactor reports whether cleartext listeners are served by the fd
// reactor (Options.Reactor "fd"), through ServeListener.
func (c *Core) FDReactor() bool { return ReactorAvailable && c.opts.Reactor == "fd" }

// EngineConfig is the normalised engine configuration.
func (c *Core) EngineConfig() *engine.Config { return &c.opts.Engine }

// Options are the Core's options, with defaults applied. Read only.
func (c *Core) Options() *Options { return &c.opts }

// add registers a new connection; false means it must be closed at once.
func (c *Core) add(x closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() || c.shutdown.Load() {
		return false // shutting down: new connections are refused
	}
	if s := slotOf(x); s != nil {
		c.list = append(c.list, x)
		*s = int32(len(c.list))
	} else {
		c.conns[x] = struct{}{}
	}
	c.tickOnce.Do(func() { go c.ticker() })
	return true
}

// slotted is a connection that keeps its position in the Core's list:
// regSlot is where (position + 1; 0 while not listed), or nil for a
// connection kept in the map. An fd connection and the protocol that
// takes it over share one slot: the first leaves the list before the
// second joins it.
type slotted interface{ regSlot() *int32 }

func slotOf(x closer) *int32 {
	if s, ok := x.(slotted); ok {
		return s.regSlot()
	}
	return nil
}

// remove unregisters x; a connection not registered (or no longer) is
// left alone.
func (c *Core) remove(x closer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := slotOf(x)
	if s == nil {
		delete(c.conns, x)
		return
	}
	i := int(*s) - 1
	if i < 0 || i >= len(c.list) || c.list[i] != x {
		return
	}
	last := len(c.list) - 1
	if i != last {
		moved := c.list[last]
		c.list[i] = moved
		*slotOf(moved) = int32(i + 1)
	}
	c.list[last] = nil
	c.list = c.list[:last]
	*s = 0
	if cap(c.list) > 1024 && len(c.list) < cap(c.list)/4 {
		c.list = slices.Clone(c.list) // the peak has passed
	}
}

func (c *Core) snapshot() []closer { return c.appendConns(nil) }

// appendConns appends the live connections to dst.
func (c *Core) appendConns(dst []closer) []closer {
	c.mu.Lock()
	defer c.mu.Unlock()
	dst = slices.Grow(dst, len(c.conns)+len(c.list))
	for x := range c.conns {
		dst = append(dst, x)
	}
	return append(dst, c.list...)
}

// httpTimeFormat is the IMF-fixdate of RFC 9110 §5.6.7 (net/http's
// TimeFormat).
const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// Date is the current HTTP date, refreshed every second by the ticker
// (which runs while any connection is open). The string never changes.
func (c *Core) Date() string { return c.currentDate().s }

// httpDate is one second's date.
type httpDate struct {
	s   string
	sec int64
}

func (c *Core) currentDate() *httpDate {
	d := c.date.Load()
	if c.ticking.Load() {
		return d
	}
	if now := time.Now(); now.Unix() != d.sec {
		return c.refreshDate(now)
	}
	return d
}

func (c *Core) refreshDate(now time.Time) *httpDate {
	s := now.UTC().Format(httpTimeFormat)
	d := &httpDate{s: s, sec: now.Unix()}
	c.date.Store(d)
	return d
}

func (c *Core) ticker() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	c.ticking.Store(true)
	defer c.ticking.Store(false)
	var conns []closer // reused: 10,000 idle connections are not 160 KB of garbage a second
	for {
		select {
		case now := <-t.C:
			c.refreshDate(now)
			conns = c.appendConns(conns[:0])
			for _, x := range conns {
				x.tick(now)
			}
			clear(conns) // closed connections must not stay reachable from here
			if cap(conns) > 1024 && cap(conns) > 4*len(conns) {
				conns = nil // the peak has passed
			}
			c.reap.run(now.UnixNano())
		case <-c.reap.wake:
			c.reap.run(time.Now().UnixNano())
		case <-c.stopTick:
			c.reap.stop()
			return
		}
	}
}

// Conns is the number of live connections.
func (c *Core) Conns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns) + len(c.list)
}

// Shutdown starts a graceful shutdown of every connection (GOAWAY, then
// close when the active streams are done). It returns at once; poll Idle.
func (c *Core) Shutdown() {
	c.shutdown.Store(true)
	c.stopAccepting()
	for _, x := range c.snapshot() {
		x.shutdown()
	}
}

// Idle reports whether every connection has finished.
func (c *Core) Idle() bool {
	for _, x := range c.snapshot() {
		if !x.idle() {
			return false
		}
	}
	return c.Conns() == 0
}

// Close closes every connection at once and stops the workers.
func (c *Core) Close() {
	c.closed.Store(true)
	c.stopAccepting()
	for _, x := range c.snapshot() {
		x.close()
	}
	c.tickOnce.Do(func() {})
	select {
	case <-c.stopTick:
	default:
		close(c.stopTick)
	}
	c.pool.Close()
}
