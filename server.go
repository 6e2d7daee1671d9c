// Package h2loop is an HTTP/2 server (RFC 9113, HPACK RFC 7541) on an epoll
// reactor. It speaks h2c with prior knowledge and by HTTP/1.1 Upgrade, h2
// over TLS with ALPN, and HTTP/1.1 for clients that want it; it runs native
// handlers with a pooled, allocation-free request context, and net/http
// handlers through WrapHandler.
//
// Server's fields follow http.Server's names; where the meaning differs,
// it is on purpose:
//   - Addr "" listens on 127.0.0.1:8080 (8443 for TLS), not ":http".
//   - ReadTimeout bounds the rest of one partially received frame (HTTP/1.1:
//     body progress), not the whole request; stalled streams end after
//     StreamIdleTimeout and header blocks after HeaderTimeout.
//   - WriteTimeout bounds one blocked socket write, not the whole response.
//   - IdleTimeout also closes HTTP/2 connections without streams.
//   - BaseContext takes no listener.
//   - ConnState counts running handlers on HTTP/2 connections, not open
//     streams; see ConnState.
//   - Logger (log/slog) takes precedence over ErrorLog.
//   - EnableConnectProtocol turns on extended CONNECT (RFC 8441), which
//     net/http enables with GODEBUG=http2xconnect=1.
//   - WrapHandler: see its documentation for http.ServerContextKey,
//     deadlines, Hijack and 1xx responses.
//   - At most MaxWorkers handlers run; more requests wait in a bounded
//     queue and are then refused with REFUSED_STREAM (see MaxWorkers).
//   - A RequestCtx is pooled: valid until the handler returns.
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
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close.
var ErrServerClosed = errors.New("h2loop: server closed")

// Server is an HTTP/2 server. Set its fields before the first Serve (or
// Metrics) call; zero values mean the documented defaults.
type Server struct {
	// Addr is the TCP address to listen on, "127.0.0.1:8080" if empty.
	Addr string
	// Handler serves every request.
	Handler Handler
	// TLSConfig, for ServeTLS and ListenAndServeTLS. NextProtos defaults to
	// "h2", "http/1.1".
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

	// MaxConcurrentStreams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). Default 256.
	MaxConcurrentStreams uint32
	// InitialStreamWindow is SETTINGS_INITIAL_WINDOW_SIZE. Default 256 KiB.
	InitialStreamWindow uint32
	// InitialConnWindow is the connection receive window. Default 1 MiB.
	InitialConnWindow uint32
	// MaxFrameSize is SETTINGS_MAX_FRAME_SIZE. Default 16384.
	MaxFrameSize uint32
	// MaxHeaderListSize is SETTINGS_MAX_HEADER_LIST_SIZE; larger header
	// sections get 431. Default 64 KiB.
	MaxHeaderListSize uint32
	// HeaderTableSize is SETTINGS_HEADER_TABLE_SIZE. Default 4096.
	HeaderTableSize uint32
	// MaxRequestBodySize caps request bodies that are declared or gathered
	// whole: a content-length above it, or more than it arriving before
	// the handler starts, gets 413, and ctx.Body stops there with
	// ErrBodyTooLarge. A body of undeclared length that the handler reads
	// as it arrives (ctx.Read, r.Body under WrapHandler: gRPC streams,
	// long uploads) is bounded by flow control, not by its total.
	// Default 8 MiB; negative means no limit.
	MaxRequestBodySize int64
	// MaxConnBodyBuffer bounds the request body bytes one connection holds
	// for running handlers that have not read them yet; below it the
	// connection's flow-control window is returned as bytes arrive, so a
	// handler that does not read its body cannot stall another one's on
	// the same connection (each stream is held to its own window).
	// Default 8 MiB.
	MaxConnBodyBuffer int64
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
	// MaxQueuedControlFrames, MaxResetsPerSecond, MaxUselessFrames and
	// MaxHeaderBlockFrames bound floods (see engine.Config). Defaults 10000,
	// 200, 10000, 64.
	MaxQueuedControlFrames int
	MaxResetsPerSecond     int
	MaxUselessFrames       int
	MaxHeaderBlockFrames   int
	// MaxRejectedHeaderSections bounds the header sections above
	// MaxHeaderListSize (answered 431) one connection may send, decaying
	// by one per request served; beyond it the connection gets
	// GOAWAY(ENHANCE_YOUR_CALM) (HPACK bombs). Default 32.
	MaxRejectedHeaderSections int
	// MaxWindowUpdatesPerDataFrame bounds WINDOW_UPDATE frames relative to
	// the DATA we send (the WINDOW_UPDATE flood). Default 10.
	MaxWindowUpdatesPerDataFrame int
	// BodyStreamThreshold is how many request body bytes one read pass
	// may buffer before the handler is started at once. Default 64 KiB.
	BodyStreamThreshold int
	// WriteChunk is how many bytes of DATA are framed before the output is
	// written, when windows allow more. Default 256 KiB.
	WriteChunk int
	// SettingsTimeout bounds the wait for the client's preface, SETTINGS and
	// SETTINGS ACK. Default 10s.
	SettingsTimeout time.Duration
	// IdleTimeout closes connections without streams. Default 5 minutes.
	IdleTimeout time.Duration
	// HeaderTimeout bounds the receipt of one request header section. Default 10s.
	HeaderTimeout time.Duration
	// EnableConnectProtocol advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and
	// accepts extended CONNECT (RFC 8441: :method CONNECT with :protocol,
	// e.g. WebSockets over HTTP/2; ctx.Protocol() names it, and the handler
	// streams both ways). Off by default: a request with :protocol is then
	// malformed.
	EnableConnectProtocol bool
	// EnablePush lets handlers push (ctx.Push, http.Pusher through
	// WrapHandler): PUSH_PROMISE for requests the server then answers on
	// streams it reserves, when the client allows it. Off by default.
	EnablePush bool
	// AltSvc, when set, is an Alt-Svc field value (RFC 7838 §3, e.g.
	// `h2="alt.example.com:443"; ma=3600`) sent in an ALTSVC frame on
	// stream 0 on every HTTP/2 connection, for the origin of its first
	// request (scheme://:authority), before that request's response. A
	// handler can send one for its request with ctx.SendAltSvc.
	AltSvc string
	// Origins, when set, are sent in an ORIGIN frame (RFC 8336) when an
	// HTTP/2 connection over TLS starts: the origins ("https://host[:port]")
	// the client may send requests for on it (the certificate must cover
	// them). A handler can send one with ctx.SendOrigin.
	Origins []string
	// StreamIdleTimeout ends a stream that waits on the client when no
	// frame went either way on it for this long: one whose request body is
	// still arriving (a 408, or RST_STREAM(CANCEL) once the response
	// started), and one whose response bytes wait for flow-control window
	// the client does not grant (RST_STREAM(CANCEL)). So neither a stalled
	// upload nor a zero-window reader holds a stream, its handler and its
	// buffered response forever. Streams waiting on their handler (long
	// polls, slow handlers) are not affected. Default 5 minutes; negative
	// disables.
	StreamIdleTimeout time.Duration
	// ReadTimeout bounds the wait for the rest of a partially received frame. Default 30s.
	ReadTimeout time.Duration
	// WriteTimeout bounds one blocked socket write. Default 30s.
	WriteTimeout time.Duration

	// MaxBufferedInput bounds the bytes a connection may have received but
	// not processed (the reactor keeps reading while a write to a client
	// that does not read is blocked); above it the connection is closed.
	// Default: InitialConnWindow plus 1 MiB.
	MaxBufferedInput int

	// MaxWorkers bounds concurrently running handlers. Default 10000.
	//
	// Dispatch: a request whose headers are complete starts its handler at
	// once, on an idle worker or a new one, while fewer than MaxWorkers
	// handlers run; it never waits behind another handler while the limit
	// allows another worker. At MaxWorkers it waits in a queue of
	// QueueSize requests for at most QueueTimeout, and a worker that frees
	// up takes the oldest. A request that finds the queue full, or waits
	// longer, is refused: RST_STREAM(REFUSED_STREAM) over HTTP/2 (nothing
	// was processed; clients may retry), counted in Stats.Overloaded and
	// logged. The reading goroutine never waits for a worker.
	MaxWorkers int
	// QueueSize bounds the requests waiting for a worker while MaxWorkers
	// handlers run. Default 1024.
	QueueSize int
	// QueueTimeout bounds how long a request waits for a worker. Default 1s.
	QueueTimeout time.Duration
	// WorkerIdleTimeout is how long an idle worker goroutine waits for a
	// request before it exits: after a burst, workers and their stacks are
	// given back within it. Default 10s.
	WorkerIdleTimeout time.Duration
	// InlineHandlers runs handlers on the goroutine that read the request,
	// skipping the worker pool: fastest, but only for handlers that never block.
	InlineHandlers bool
	// InlineHandlerFunc, when set, decides per request whether its handler
	// never blocks and may run inline (as InlineHandlers does for all); the
	// others go to the worker pool. Requests whose body is still arriving
	// always go to the pool.
	InlineHandlerFunc func(ctx *RequestCtx) bool
	// MaxConns bounds open connections of every kind (cleartext and TLS,
	// HTTP/2 and HTTP/1.1, and ones that have not sent anything yet).
	// Connections accepted above it are closed at once, counted in
	// Stats.ConnsRejected and logged (one line a second at most). Default
	// 100000 (an idle connection costs about 6 KB).
	MaxConns int
	// DisableHTTP1 refuses HTTP/1.1 clients.
	DisableHTTP1 bool
	// BaseContext, when set, returns the context every request's
	// ctx.Context() derives from (net/http's BaseContext takes the
	// listener; here it is one context for the server). Default
	// context.Background().
	BaseContext func() context.Context

	// ErrorLog receives protocol error lines; nil discards them. Panics
	// (a handler's, or the server's own) are always logged with their
	// stack: to ErrorLog, or to the standard logger when it is nil.
	// Logger, when set, takes precedence: ErrorLog is then unused.
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
	// handler's goroutine: a slow AccessLog slows the request. Unset, it
	// costs nothing.
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
	// the server's goroutines and must not block. A connection served on
	// the netpoll reactor is reported as its netpoll.Connection (Hijack
	// returns another net.Conn for it). Unset, it costs nothing.
	ConnState func(net.Conn, http.ConnState)
	// ConnContext, when set, returns the context of a new connection's
	// requests (ctx.Context(), and r.Context() under WrapHandler) from
	// the server's base context (BaseContext) and the connection, as
	// net/http's does; a nil result means the base context. It runs
	// when the connection is accepted, before StateNew, on the
	// accepting goroutine: it must not block.
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
	s.core = loop.NewCore(loop.Options{
		Engine: engine.Config{
			MaxConcurrentStreams:         s.MaxConcurrentStreams,
			InitialStreamWindow:          s.InitialStreamWindow,
			InitialConnWindow:            s.InitialConnWindow,
			MaxFrameSize:                 s.MaxFrameSize,
			MaxHeaderListSize:            s.MaxHeaderListSize,
			HeaderTableSize:              s.HeaderTableSize,
			MaxRequestBodySize:           s.MaxRequestBodySize,
			MaxConnBodyBuffer:            s.MaxConnBodyBuffer,
			MaxQueuedControlFrames:       s.MaxQueuedControlFrames,
			MaxResetsPerSecond:           s.MaxResetsPerSecond,
			MaxUselessFrames:             s.MaxUselessFrames,
			MaxHeaderBlockFrames:         s.MaxHeaderBlockFrames,
			MaxRejectedHeaderSections:    s.MaxRejectedHeaderSections,
			MaxWindowUpdatesPerDataFrame: s.MaxWindowUpdatesPerDataFrame,
			BodyStreamThreshold:          s.BodyStreamThreshold,
			WriteChunk:                   s.WriteChunk,
			SettingsTimeout:              s.SettingsTimeout,
			IdleTimeout:                  s.IdleTimeout,
			HeaderTimeout:                s.HeaderTimeout,
			StreamIdleTimeout:            s.StreamIdleTimeout,
			EnableConnectProtocol:        s.EnableConnectProtocol,
			AltSvc:                       s.AltSvc,
			EnablePush:                   s.EnablePush,
			Origins:                      s.Origins,
			Logf:                         logf,
		},
		Hooks: loop.Hooks{
			Acquire:  s.acquire,
			Release:  s.release,
			Serve:    s.serve,
			Canceled: canceled,
		},
		InlineHandlers:    s.InlineHandlers,
		Inline:            s.inlineFunc(),
		MaxWorkers:        s.MaxWorkers,
		QueueSize:         s.QueueSize,
		QueueTimeout:      s.QueueTimeout,
		WorkerIdleTimeout: s.WorkerIdleTimeout,
		MaxBufferedInput:  s.MaxBufferedInput,
		WriteTimeout:      s.WriteTimeout,
		ReadTimeout:       s.ReadTimeout,
		MaxConns:          s.MaxConns,
		DisableHTTP1:      s.DisableHTTP1,
		Logf:              logf,
		Proxy:             s.proxyOptions(),
		ConnState:         s.ConnState,
		ConnContext:       s.connContextFunc(),
		Log:               s.slogFunc(),
	})
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
			s.AccessLog(ctx, status, time.Since(start))
		}
		ctx.endContext()
		t.Finish(r)
	}()
	s.Handler.Serve(ctx)
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
	if len(conf.NextProtos) == 0 {
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
		go f()
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
// to finish).
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onShutdown = append(s.onShutdown, f)
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
	return func(r *engine.Request) bool { return f(r.Owner.(*RequestCtx)) }
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
