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
	// StreamIdleTimeout ends a stream whose request body is still arriving
	// when no frame went either way on it for this long (a 408, or
	// RST_STREAM(CANCEL) once the response started), so a stalled upload
	// does not hold its stream and handler forever. Streams whose request is
	// complete (long polls, slow handlers) are not affected. Default 5
	// minutes; negative disables.
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
	ErrorLog *log.Logger

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

// Metrics returns the server's live counters. They exist from the first call
// (before Serve too, once Handler is set) and stay the same afterwards; nil
// only without a Handler or after Close of a server that never served.
func (s *Server) Metrics() *Stats {
	s.mu.Lock()
	core := s.core
	s.mu.Unlock()
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

// bodyLimit is the normalised MaxRequestBodySize (negative: none).
func (s *Server) bodyLimit() int64 {
	if s == nil || s.core == nil {
		return -1
	}
	return s.core.EngineConfig().MaxRequestBodySize
}

// logPanic logs to ErrorLog, or to the standard logger when it is nil.
func (s *Server) logPanic(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
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
	if s.ErrorLog != nil {
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
		InlineHandlers:   s.InlineHandlers,
		Inline:           s.inlineFunc(),
		MaxWorkers:       s.MaxWorkers,
		QueueSize:        s.QueueSize,
		QueueTimeout:     s.QueueTimeout,
		MaxBufferedInput: s.MaxBufferedInput,
		WriteTimeout:     s.WriteTimeout,
		ReadTimeout:      s.ReadTimeout,
		MaxConns:         s.MaxConns,
		DisableHTTP1:     s.DisableHTTP1,
		Logf:             logf,
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
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				// As net/http: logged with its stack, whatever ErrorLog is.
				s.core.Metrics.HandlerPanics.Add(1)
				s.logPanic("h2loop: panic serving %v: %s %s: %v\n%s", t.RemoteAddr(), r.Header.Method, r.Header.Path, p, debug.Stack())
			}
			t.Reset(r)
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
	ln, err := net.Listen("tcp", addr)
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
	if !loop.ReactorAvailable {
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
	ln, err := net.Listen("tcp", addr)
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
