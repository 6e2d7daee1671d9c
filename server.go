// Package h2loop is an HTTP/2 server (RFC 9113, HPACK RFC 7541) on an epoll
// reactor. It speaks h2c with prior knowledge and by HTTP/1.1 Upgrade, h2
// over TLS with ALPN, and HTTP/1.1 for clients that want it; it runs native
// handlers with a pooled, allocation-free request context, and net/http
// handlers through WrapHandler.
//
// Server's fields follow http.Server's names. Where one means something
// else here (Addr "", ReadTimeout, WriteTimeout, IdleTimeout, zero
// timeouts, BaseContext, ConnState, ...), or an http.Server field has
// another name (ReadHeaderTimeout is HeaderTimeout, MaxHeaderBytes is
// MaxHeaderListSize), it is on purpose: the README's "Coming from
// net/http" section lists every difference in one table
// (https://github.com/h2loop/h2loop#coming-from-net-http, README.md in
// the module's root).
//
// Beyond RFC 9113, the HTTP/2 extensions the most complete servers have:
//
//   - RFC 9218 priorities: the request's priority field and PRIORITY_UPDATE
//     frames set each response's urgency and incremental flag, and response
//     DATA is scheduled by them (ctx.Priority reads, ctx.SetPriority
//     overrides); SETTINGS_NO_RFC7540_PRIORITIES is sent, RFC 7540 PRIORITY
//     frames are accepted and ignored.
//   - 103 Early Hints (RFC 8297): ctx.SendEarlyHints("</a.css>; rel=preload;
//     as=style"), or w.WriteHeader(103) through WrapHandler.
//   - Server push, opt-in with EnablePush: ctx.Push("GET", "/app.js"), or
//     http.Pusher through WrapHandler, when the client allows it.
//   - ALTSVC (RFC 7838) and ORIGIN (RFC 8336) frames: the AltSvc and
//     Origins fields, ctx.SendAltSvc and ctx.SendOrigin.
package h2loop

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("h2loop: server closed")

// The Server's option fields declared in engine.Config and loop.Options
// are written from there, with options_gen.go:
//
//go:generate go run ./internal/optgen

// Server is an HTTP/2 server. Set its fields before the first Serve (or
// Metrics) call; zero values mean the documented defaults, and so do
// negative limits and timeouts, except where a field says what a negative
// value means (MaxRequestBodySize, IdleTimeout, StreamIdleTimeout).
type Server struct {
	// Addr is the TCP address to listen on, "127.0.0.1:8080" if empty.
	Addr string
	// Handler serves every request.
	Handler Handler
	// TLSConfig, for ServeTLS and ListenAndServeTLS. NextProtos defaults to
	// "h2", "http/1.1" ("h2" alone with DisableHTTP1).
	TLSConfig *tls.Config

	// ReusePort sets SO_REUSEPORT on the socket ListenAndServe and
	// ListenAndServeTLS (and Listen) open, so that several processes can
	// listen on the same port: the kernel spreads new connections over
	// them (Linux; the BSDs and macOS let them bind but hand connections
	// to one), and one can stop, draining by Shutdown, while the others
	// go on serving (see the README on rolling deploys). Where the
	// platform has no SO_REUSEPORT (windows) those calls return
	// ErrReusePortUnsupported. Listeners passed to Serve are used as they are.
	ReusePort bool
	// ProxyProtocol, when set, reads the PROXY protocol header (v1, v2)
	// that balancers put in front of each connection, from the trusted
	// networks it names; see ProxyProtocol. Nil: no header is expected,
	// and one is bad protocol bytes.
	ProxyProtocol *ProxyProtocol

	// ---- protocol options, generated from engine.Config: edit them in engine/config.go ----

	// MaxConcurrentStreams is advertised as SETTINGS_MAX_CONCURRENT_STREAMS
	// on each HTTP/2 connection; streams beyond it are refused with
	// RST_STREAM(REFUSED_STREAM). Default 256, at most 65536.
	MaxConcurrentStreams uint32

	// InitialStreamWindow is the server's SETTINGS_INITIAL_WINDOW_SIZE: how
	// many request body bytes a client may send on one HTTP/2 stream before
	// they are read. Default 256 KiB, at least 65535, at most 2^31-1.
	InitialStreamWindow uint32

	// InitialConnWindow is the receive window of each HTTP/2 connection:
	// how many request body bytes a client may send on it, over all its
	// streams, before they are read (see MaxConnBodyBuffer). Default 1 MiB,
	// at least 65535, at most 2^31-1.
	InitialConnWindow uint32

	// MaxFrameSize is the server's SETTINGS_MAX_FRAME_SIZE: the largest
	// frame payload a client may send. Default and minimum 16384, at most
	// 16777215.
	MaxFrameSize uint32

	// MaxHeaderListSize is the server's SETTINGS_MAX_HEADER_LIST_SIZE; a
	// larger request header section is answered with 431 (see
	// MaxRejectedHeaderSections). It also bounds an HTTP/1.1 request's
	// head. Default 64 KiB.
	MaxHeaderListSize uint32

	// HeaderTableSize is the server's SETTINGS_HEADER_TABLE_SIZE: the size
	// of the HPACK dynamic table the client may use for request headers.
	// Default 4096.
	HeaderTableSize uint32

	// MaxRequestBodySize caps a request body that is declared or gathered
	// whole: a content-length above it, or more than it arriving before
	// the handler starts, is answered with 413, and ctx.Body stops there
	// with ErrBodyTooLarge. A body of undeclared length that the handler
	// reads as it arrives (ctx.Read, r.Body under WrapHandler: gRPC
	// streams, long uploads) is bounded by flow control, not by its total.
	// Default 8 MiB; negative means no limit.
	MaxRequestBodySize int64

	// BodyStreamThreshold is how many request body bytes one read pass may
	// buffer for a request before its handler is started at once (handlers
	// start when the frames at hand are processed anyway). Default 64 KiB.
	BodyStreamThreshold int

	// MaxConnBodyBuffer bounds the request body bytes one HTTP/2 connection
	// holds for running handlers that have not read them yet. Below it,
	// the connection window is returned as bytes arrive, so that streams
	// whose handlers do not read (queued, busy elsewhere) cannot use up the
	// window a reading handler needs; each stream is held to its own
	// window. Above it, connection credit waits for the handlers to read.
	// Default 8 MiB, at least InitialConnWindow.
	MaxConnBodyBuffer int64

	// MaxQueuedControlFrames caps control frames (SETTINGS ACK, PING ACK,
	// RST_STREAM) produced but not yet written; a peer that provokes more
	// without reading gets GOAWAY(ENHANCE_YOUR_CALM). Default 10000.
	MaxQueuedControlFrames int

	// MaxResetsPerSecond caps resets of active streams: the client's own
	// RST_STREAM (the rapid reset attack, CVE-2023-44487) and the stream
	// errors it provokes (MadeYouReset, CVE-2025-8671); beyond it the
	// connection gets GOAWAY(ENHANCE_YOUR_CALM). Default 200 a second
	// (with a burst of 2x).
	MaxResetsPerSecond int

	// MaxUselessFrames caps frames that do no work (empty DATA without
	// END_STREAM, PRIORITY, WINDOW_UPDATE on closed streams, unknown frame
	// types); the count decays by one per request served. Beyond it the
	// connection gets GOAWAY(ENHANCE_YOUR_CALM). Default 10000.
	MaxUselessFrames int

	// MaxHeaderBlockFrames caps CONTINUATION frames in one field block (the
	// CONTINUATION flood); beyond it the connection gets
	// GOAWAY(ENHANCE_YOUR_CALM). Default 64.
	MaxHeaderBlockFrames int

	// MaxRejectedHeaderSections caps the header sections above
	// MaxHeaderListSize (each answered 431, or a reset for trailers) a
	// connection may send; the count decays by one per request served.
	// Beyond it the connection is closed with GOAWAY(ENHANCE_YOUR_CALM):
	// an HPACK bomb (small blocks that refer to one large table entry
	// thousands of times) costs decoding time on every block. Default 32.
	MaxRejectedHeaderSections int

	// MaxWindowUpdatesPerDataFrame bounds the WINDOW_UPDATE frames a client
	// may send, which are due only for DATA the server sends: over the
	// connection's life at most 100, plus this many per DATA frame sent,
	// plus one per KiB of DATA sent; more is a WINDOW_UPDATE flood,
	// answered with GOAWAY(ENHANCE_YOUR_CALM). Default 10.
	MaxWindowUpdatesPerDataFrame int

	// WriteChunk is how many bytes of DATA are framed per scheduling round
	// before the output is written, when windows allow more. Default 256
	// KiB. DATA of static bodies that a transport writes from the body's
	// own memory (gathered writes, no copy) is framed up to four times
	// that.
	WriteChunk int

	// SettingsTimeout is how long an HTTP/2 client has to acknowledge the
	// server's SETTINGS and, at the start, to send its preface and
	// SETTINGS. It also bounds a new connection's wait for its first bytes
	// and the TLS handshake. Default 10s.
	SettingsTimeout time.Duration

	// IdleTimeout closes an HTTP/2 connection with no open streams after
	// this long (GOAWAY NO_ERROR), and an HTTP/1.1 connection that waits
	// this long for its next request. Default 5 minutes; negative disables.
	IdleTimeout time.Duration

	// HeaderTimeout bounds the time between the first and the last frame of
	// an HTTP/2 request's header section, and the receipt of an HTTP/1.1
	// request's head (net/http's ReadHeaderTimeout). Default 10s.
	HeaderTimeout time.Duration

	// EnableConnectProtocol advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
	// (RFC 8441) and accepts extended CONNECT requests (:method CONNECT
	// with :protocol, e.g. WebSockets over HTTP/2; ctx.Protocol() names
	// it), whose handlers then stream both ways. Off by default: a request
	// with :protocol is then malformed.
	EnableConnectProtocol bool

	// StreamIdleTimeout ends a stream that waits on the client when no
	// frame went either way on it for this long, with a Timeouts count and
	// a log line: a stream whose request is still arriving (the client has
	// not ended its side) gets a 408 response if none has started,
	// RST_STREAM(CANCEL) otherwise; a stream whose response bytes wait for
	// window the client does not grant gets RST_STREAM(CANCEL). It bounds
	// how long a stalled upload or a zero-window reader holds a stream slot,
	// its handler and its buffered response. Streams waiting on their
	// handler (a long poll, a slow handler) are not affected.
	// Default 5 minutes; negative disables.
	StreamIdleTimeout time.Duration

	// EnablePush lets handlers push (ctx.Push, http.Pusher through
	// WrapHandler): PUSH_PROMISE for requests the server then answers on
	// streams it reserves, when the client allows it
	// (SETTINGS_ENABLE_PUSH). Off by default.
	EnablePush bool

	// AltSvc, when set, is an Alt-Svc field value (RFC 7838 §3, such as
	// `h3=":443"; ma=86400`) sent in an ALTSVC frame on stream 0 on every
	// HTTP/2 connection, for the origin of its first request (scheme and
	// :authority), before that request's response. A handler can send one
	// for its request with ctx.SendAltSvc.
	AltSvc string

	// Origins, when set, are sent in an ORIGIN frame (RFC 8336) when an
	// HTTP/2 connection over TLS starts (see Conn.StartTLS): the origins
	// ("https://host[:port]") the client may send requests for on it (the
	// certificate must cover them). A handler can send one with
	// ctx.SendOrigin.
	Origins []string

	// ---- end of the generated protocol options ----

	// StreamRequestBody is kept for compatibility and has no effect:
	// handlers always start as soon as the request header section is
	// complete (and the frames that came with it are processed), with
	// the body read as it arrives (ctx.Read) or whole (ctx.Body).
	//
	// Deprecated: handlers always stream their request body.
	StreamRequestBody bool
	// StreamRequestBodyFunc is kept for compatibility and has no effect.
	//
	// Deprecated: handlers always stream their request body.
	StreamRequestBodyFunc func(ctx *RequestCtx) bool

	// ---- transport options, generated from loop.Options: edit them in loop/core.go ----

	// InlineHandlers runs handlers on the goroutine that read the request,
	// skipping the worker pool: fastest, but only for handlers that never
	// block.
	InlineHandlers bool

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
	MaxWorkers int

	// QueueSize bounds the requests waiting for a worker while MaxWorkers
	// handlers run; a request that finds it full is refused at once.
	// Default 1024.
	QueueSize int

	// QueueTimeout bounds how long a request waits for a worker; then it
	// is refused. Default 1s.
	QueueTimeout time.Duration

	// WorkerIdleTimeout is how long an idle worker goroutine waits for a
	// request before it exits: after a burst, workers and their stacks are
	// given back within it. Default 10s.
	WorkerIdleTimeout time.Duration

	// WriteTimeout bounds one blocked socket write (a client that does not
	// read): when it passes, the connection is closed, counted in
	// Stats.Timeouts. It is not a bound on the whole response, as
	// net/http's is. Default 30s.
	WriteTimeout time.Duration

	// ReadTimeout bounds how long an HTTP/1.1 request body may make no
	// progress, and the wait for the rest of a partially received HTTP/2
	// frame (cleartext and TLS).
	// It is not a bound on the whole request, as net/http's is: stalled
	// HTTP/2 streams end after StreamIdleTimeout and header sections after
	// HeaderTimeout. Default 30s.
	ReadTimeout time.Duration

	// MaxBufferedInput bounds the bytes a connection may have received but
	// not processed (the reactor keeps reading while a write to a client
	// that does not read is blocked); above it the connection is closed.
	// An HTTP/1.1 connection on the fd reactor stops reading instead while
	// a handler runs, once it holds the smaller of this and 32 KiB of what
	// the client sent next: the rest waits in the socket, as with net/http.
	// Default: InitialConnWindow plus 1 MiB.
	MaxBufferedInput int

	// MaxConns bounds open connections of every kind (cleartext and TLS,
	// HTTP/2 and HTTP/1.1, and ones that have not sent anything yet).
	// Connections accepted above it are closed at once, counted in
	// Stats.ConnsRejected and logged (one line a second at most). Default
	// 100000 (an idle HTTP/2 connection costs about 1.75 KB of RSS on the
	// fd reactor, 6 KB on netpoll's connections).
	MaxConns int

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
	Reactor string

	// DisableHTTP1 refuses HTTP/1.1. On cleartext connections, bytes that
	// are not the HTTP/2 preface close the connection (no Upgrade to h2c
	// either). Over TLS, ALPN offers "h2" alone (unless TLSConfig sets
	// NextProtos), and a connection whose ALPN did not pick "h2" (a client
	// without ALPN) is closed after the handshake, with a log line.
	DisableHTTP1 bool

	// ---- end of the generated transport options ----

	// InlineHandlerFunc, when set, decides per request whether its handler
	// never blocks and may run inline (as InlineHandlers does for all); the
	// others go to the worker pool. Requests whose body is still arriving
	// always go to the pool, and so does a request for which it panicked
	// (counted in Stats.CallbackPanics and logged).
	InlineHandlerFunc func(ctx *RequestCtx) bool
	// BaseContext, when set, returns the context every request's
	// ctx.Context() (and r.Context() under WrapHandler) derives from.
	// Unlike net/http's, it takes no listener and is called for each
	// request whose context is used (with ConnContext set, once per
	// connection instead): return a context made once. Default
	// context.Background().
	BaseContext func() context.Context

	// ErrorLog receives protocol error lines; nil discards them. Panics
	// (a handler's, or the server's own) are always logged with their
	// stack: to ErrorLog, or to the standard logger when it is nil.
	// Logger, when set, takes precedence: ErrorLog is then unused. A
	// panic in its writer (or in Logger's handler) is recovered, counted
	// in Stats.CallbackPanics and reported to the standard logger.
	ErrorLog *log.Logger

	// Logger, when set, receives every line the server logs as a
	// structured record (attributes remote, stream, code, counter, method,
	// path; see the package's logging notes in log.go), and ErrorLog is
	// not used. Panics are logged at slog.LevelError, the rest at
	// slog.LevelWarn. With Logger set, each HTTP/2 connection holds its
	// own copy of the protocol configuration (about 200 bytes), so that
	// the protocol engine's lines carry the client's address.
	Logger *slog.Logger
	// AccessLog, when set, is called after each handler returns (native
	// and WrapHandler's), before the response is completed, with the
	// response status (0 when a panic reset the stream) and the time the
	// handler took. ctx is valid during the call only. It runs on the
	// handler's goroutine: a slow AccessLog slows the request. A panic
	// in it is counted in Stats.CallbackPanics and logged; the response
	// completes. Unset, it costs nothing.
	AccessLog func(ctx *RequestCtx, status int, elapsed time.Duration)

	// ConnState, when set, is called when a connection changes state, with
	// net/http's states: StateNew when accepted (before any byte is read;
	// over TLS before the handshake, with the *tls.Conn); StateActive
	// when an HTTP/1.1 connection reads the first byte of a request, or
	// when a handler starts on an HTTP/2 connection without running
	// handlers; StateIdle when the HTTP/1.1 response is done, or the last
	// running HTTP/2 handler returns; then StateHijacked (Hijack under
	// WrapHandler) or StateClosed, once. Unlike net/http, HTTP/2 counts
	// running handlers, not open streams (a response still being sent
	// after its handler returned does not keep the connection active),
	// an h2c upgrade reports StateIdle between the HTTP/1.1 request and
	// its HTTP/2 stream, and a connection refused at accept (MaxConns) is
	// not reported. Calls for one connection never overlap; they run on
	// the server's goroutines and must not block. A cleartext connection
	// is reported as a net.Conn of the reactor's: on the fd reactor one
	// whose reads fail while the server owns its input (it stands for the
	// standard library's connection once HTTP/1.1 takes the socket), on
	// netpoll's connections its netpoll.Connection (Hijack returns
	// another net.Conn for it). A panic in it is recovered,
	// counted in Stats.CallbackPanics and logged with its stack; one in
	// the StateNew call closes that connection (with nothing more
	// reported for it). Unset, it costs nothing.
	ConnState func(net.Conn, http.ConnState)
	// ConnContext, when set, returns the context of a new connection's
	// requests (ctx.Context(), and r.Context() under WrapHandler) from
	// the server's base context (BaseContext) and the connection, as
	// net/http's does; a nil result means the base context. It runs
	// when the connection is accepted, before StateNew, on the
	// accepting goroutine: it must not block. A panic in it (or in
	// BaseContext called from it) closes that connection, and is counted
	// in Stats.CallbackPanics and logged.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	// net/http parity: hooks and logging (see nethttp.go, log.go)
	httpSrvOnce sync.Once
	httpSrv     *http.Server // made by httpServer

	mu         sync.Mutex
	onShutdown []func()
	core       *loop.Core
	evls       []netpoll.EventLoop // netpoll event loops
	lns        []net.Listener      // every listener, closed first by Shutdown and Close
	closed     bool
	ctxPool    sync.Pool
	doneOnce   sync.Once
	done       chan struct{}

	live atomic.Pointer[loop.Core] // core, for the log hooks, which run without mu
}

// Stats are the server's counters.
type Stats = engine.Metrics

// coreNow returns the server's Core, nil before it is set up.
func (s *Server) coreNow() *loop.Core {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core
}

// Metrics returns the server's live counters. They exist from the first call
// (before Serve too, once Handler is set) and stay the same afterwards; nil
// only without a Handler or after Close of a server that never served.
func (s *Server) Metrics() *Stats {
	core := s.coreNow()
	if core == nil {
		// Not serving yet: set the server up now, so that the counters can
		// be published before Serve (expvar, say) and stay the same.
		var err error
		if core, err = s.init(); err != nil {
			return nil // no Handler, or closed before it ever served
		}
	}
	return &core.Metrics
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		defer s.recoverLog("ErrorLog")
		s.ErrorLog.Printf(format, args...)
	}
}

// baseContext is the context requests' Contexts derive from.
func (s *Server) baseContext() context.Context {
	if s != nil && s.BaseContext != nil {
		if c := s.BaseContext(); c != nil {
			return c
		}
	}
	return context.Background()
}

// connContextFunc is the transports' ConnContext hook: nil unless
// ConnContext is set.
func (s *Server) connContextFunc() func(net.Conn) context.Context {
	if s.ConnContext == nil {
		return nil
	}
	return func(c net.Conn) context.Context {
		base := s.baseContext()
		if ctx := s.ConnContext(base, c); ctx != nil {
			return ctx
		}
		return base
	}
}

// requestBase is the context the contexts of t's requests derive from:
// the connection's (ConnContext), or the server's base context.
func (s *Server) requestBase(t loop.Transport) context.Context {
	if t != nil {
		if c := t.ConnContext(); c != nil {
			return c
		}
	}
	return s.baseContext()
}

// bodyLimit is the normalised MaxRequestBodySize (negative: none).
func (s *Server) bodyLimit() int64 {
	if s == nil || s.core == nil {
		return -1
	}
	return s.core.EngineConfig().MaxRequestBodySize
}

func (s *Server) init() (*loop.Core, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if s.core != nil {
		return s.core, nil
	}
	if s.Handler == nil {
		return nil, errors.New("h2loop: Server.Handler is nil")
	}
	s.done = make(chan struct{})
	s.ctxPool.New = func() any {
		ctx := new(RequestCtx)
		ctx.req.Owner = ctx
		return ctx
	}
	var logf func(string, ...any)
	if s.ErrorLog != nil && s.Logger == nil {
		logf = s.logf
	}
	defer func() { s.live.Store(s.core) }()
	opts := loop.Options{
		Engine: engine.Config{Logf: logf},
		Hooks: loop.Hooks{
			Acquire:  s.acquire,
			Release:  s.release,
			Serve:    s.serve,
			Canceled: canceled,
		},
		Inline:      s.inlineFunc(),
		Logf:        logf,
		Proxy:       s.proxyOptions(),
		ConnState:   s.ConnState,
		ConnContext: s.connContextFunc(),
		Log:         s.slogFunc(),
	}
	s.engineOptions(&opts.Engine) // options_gen.go
	s.loopOptions(&opts)
	s.core = loop.NewCore(opts)
	return s.core, nil
}

func (s *Server) acquire() *engine.Request {
	ctx := s.ctxPool.Get().(*RequestCtx)
	return &ctx.req
}

func (s *Server) release(r *engine.Request) {
	ctx := r.Owner.(*RequestCtx)
	ctx.reset()
	s.ctxPool.Put(ctx)
}

func canceled(r *engine.Request) { r.Owner.(*RequestCtx).cancel() }

func (s *Server) serve(r *engine.Request, t loop.Transport) {
	ctx := r.Owner.(*RequestCtx)
	ctx.t = t
	ctx.srv = s
	var start time.Time
	if s.AccessLog != nil {
		start = time.Now()
	}
	defer func() {
		status := r.Status
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				// As net/http: logged with its stack, whatever ErrorLog is.
				s.core.Metrics.HandlerPanics.Add(1)
				s.logRequest(slog.LevelError, ctx, "HandlerPanics", "h2loop: panic serving %v: %s %s: %v\n%s", t.RemoteAddr(), r.Header.Method, r.Header.Path, p, debug.Stack())
			}
			t.Reset(r)
			status = 0
		} else if status == 0 {
			status = http.StatusOK
		}
		if s.AccessLog != nil {
			s.accessLog(ctx, status, time.Since(start))
		}
		ctx.endContext()
		t.Finish(r)
	}()
	s.Handler.Serve(ctx)
}

// accessLog calls AccessLog; a panic in it is recovered, counted and
// logged, and the response completes as usual.
func (s *Server) accessLog(ctx *RequestCtx, status int, elapsed time.Duration) {
	defer func() {
		if p := recover(); p != nil {
			s.core.CallbackPanicked("AccessLog", ctx.t.RemoteAddr(), p)
		}
	}()
	s.AccessLog(ctx, status, elapsed)
}

// ListenAndServe listens on s.Addr (TCP) and serves cleartext HTTP/2 and
// HTTP/1.1 on the netpoll reactor.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := s.Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve serves cleartext connections from ln on the netpoll reactor (ln
// must be a TCP or Unix listener; others are served by a goroutine per
// connection). It returns ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	core, err := s.init()
	if err != nil {
		ln.Close()
		return err
	}
	if !loop.ReactorAvailable || core.FDReactor() {
		// (The fd reactor, Options.Reactor in loop, accepts in ServeListener.)
		return s.serveStd(core, ln, nil)
	}
	// The converted listener owns ln (and the duplicate of its socket that
	// netpoll makes): closing it closes both.
	conv, cerr := netpoll.ConvertListener(ln)
	if cerr != nil {
		return s.serveStd(core, ln, nil)
	}
	// Shutdown closes the listener first, netpoll's own shutdown closes it
	// again later: the second close must not close a reused descriptor.
	npln := &onceListener{Listener: conv}
	evl, err := core.NewEventLoop()
	if err != nil {
		npln.Close()
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		npln.Close()
		return ErrServerClosed
	}
	s.evls = append(s.evls, evl)
	s.lns = append(s.lns, npln)
	s.mu.Unlock()
	err = evl.Serve(npln)
	if s.isClosed() {
		<-s.done
		return ErrServerClosed
	}
	return err
}

// ServeTLS serves TLS connections from ln: ALPN selects h2 or http/1.1.
// certFile and keyFile are loaded unless s.TLSConfig has certificates.
// A panic in a TLSConfig callback (GetCertificate, ...) fails that
// connection's handshake, counted in Stats.CallbackPanics and logged.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	core, err := s.init()
	if err != nil {
		ln.Close()
		return err
	}
	conf := &tls.Config{}
	if s.TLSConfig != nil {
		conf = s.TLSConfig.Clone()
	}
	if len(conf.NextProtos) == 0 && s.DisableHTTP1 {
		conf.NextProtos = []string{"h2"}
	} else if len(conf.NextProtos) == 0 {
		conf.NextProtos = []string{"h2", "http/1.1"}
	}
	if len(conf.Certificates) == 0 && conf.GetCertificate == nil {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("h2loop: loading certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if conf.MinVersion == 0 {
		conf.MinVersion = tls.VersionTLS12
	}
	return s.serveStd(core, ln, conf)
}

// ListenAndServeTLS listens on s.Addr and calls ServeTLS.
func (s *Server) ListenAndServeTLS(certFile, keyFile string) error {
	addr := s.Addr
	if addr == "" {
		addr = "127.0.0.1:8443"
	}
	ln, err := s.Listen(addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(ln, certFile, keyFile)
}

func (s *Server) serveStd(core *loop.Core, ln net.Listener, conf *tls.Config) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	err := core.ServeListener(ln, conf)
	if s.isClosed() {
		<-s.done
		return ErrServerClosed
	}
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shutdown stops accepting connections and shuts every connection down
// gracefully: "GOAWAY" with the last stream id 2^31-1, a PING round trip,
// then GOAWAY with the last stream actually opened (RFC 9113 §6.8); active
// streams finish, then connections close. If ctx ends first, the remaining
// connections are closed and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	core := s.core
	evls := s.evls
	lns := s.lns
	hooks := s.onShutdown
	s.mu.Unlock()
	defer s.finish()
	for _, f := range hooks {
		go s.onShutdownFunc(f)
	}
	for _, ln := range lns {
		ln.Close()
	}
	if core == nil {
		return nil
	}
	core.Shutdown()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for !core.Idle() {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-tick.C:
		}
	}
	core.Close()
	for _, evl := range evls {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		evl.Shutdown(c)
		cancel()
	}
	return err
}

// RegisterOnShutdown registers a function to call when Shutdown starts, as
// http.Server's does: each runs on its own goroutine, and Shutdown does not
// wait for it (use it to tell long-lived handlers, WebSockets or streams,
// to finish). A panic in f is recovered, counted in Stats.CallbackPanics
// and logged.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onShutdown = append(s.onShutdown, f)
}

// onShutdownFunc runs a RegisterOnShutdown function; a panic in it is
// recovered, counted and logged.
func (s *Server) onShutdownFunc(f func()) {
	defer func() {
		if p := recover(); p != nil {
			if core := s.live.Load(); core != nil {
				core.CallbackPanicked("RegisterOnShutdown function", nil, p)
			} else {
				log.Printf("h2loop: panic in RegisterOnShutdown function: %v\n%s", p, debug.Stack())
			}
		}
	}()
	f()
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed && s.core == nil {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	core := s.core
	evls := s.evls
	lns := s.lns
	s.mu.Unlock()
	defer s.finish()
	for _, ln := range lns {
		ln.Close()
	}
	if core != nil {
		core.Close()
	}
	for _, evl := range evls {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		evl.Shutdown(c)
		cancel()
	}
	return nil
}

func (s *Server) finish() {
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		s.doneOnce.Do(func() { close(done) })
	}
}

func (s *Server) inlineFunc() func(r *engine.Request) bool {
	f := s.InlineHandlerFunc
	if f == nil {
		return nil
	}
	return func(r *engine.Request) (inline bool) {
		defer func() {
			if p := recover(); p != nil {
				// Not known to be safe inline: the worker pool runs it.
				s.core.CallbackPanicked("InlineHandlerFunc", nil, p)
				inline = false
			}
		}()
		return f(r.Owner.(*RequestCtx))
	}
}

// onceListener makes Close idempotent: closing a socket descriptor twice
// could close another socket that reused its number in between.
type onceListener struct {
	netpoll.Listener
	once sync.Once
	err  error
}

func (l *onceListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
