package h2loop_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// A panic in a user callback that runs outside a handler is recovered,
// counted in Stats.CallbackPanics and logged with its stack; a connection
// whose accept-time callback panicked is closed, and the server goes on
// serving. Each test runs on every transport: both cleartext reactors
// (fd and netpoll's connections), the standard library's cleartext path
// and TLS.

// wantAcceptPanic checks the answer to a callback that panicked at
// accept: the connection closed by the server, the panic counted and
// logged, the next connection served, none left open.
func (s *cbServer) wantAcceptPanic(t *testing.T, name string) {
	t.Helper()
	wantClosedByServer(t, s.addr)
	s.wantPanics(t, 1, name)
	if err := s.get(); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
	s.wantNoConns(t)
}

// cbServer is a server under test on one transport.
type cbServer struct {
	srv  *h2loop.Server
	addr string
	pool *x509.CertPool // TLS only
	log  *logBuffer
}

// get makes one GET / on a new connection and checks the answer.
func (s *cbServer) get() error {
	if s.pool == nil {
		return helloOK(s.addr)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool, NextProtos: []string{"h2"}}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Get("https://" + s.addr + "/")
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || string(b) != "hello, world!\n") {
		err = errors.New("GET /: " + resp.Status + " " + string(b))
	}
	return err
}

// wantPanics waits until Stats.CallbackPanics reaches n and checks that
// the log has a panic line naming what, with a stack.
func (s *cbServer) wantPanics(t *testing.T, n uint64, what string) {
	t.Helper()
	waitFor(t, "CallbackPanics to be counted", func() bool { return s.srv.Metrics().CallbackPanics.Load() >= n })
	waitFor(t, "the panic to be logged", func() bool {
		out := s.log.String()
		return strings.Contains(out, "panic in "+what) && strings.Contains(out, "goroutine ")
	})
	if got := s.srv.Metrics().Panics.Load(); got != 0 {
		t.Errorf("Stats.Panics = %d, want 0 (a user callback's panic is not the server's)", got)
	}
}

// wantNoConns waits until the server has no connection open.
func (s *cbServer) wantNoConns(t *testing.T) {
	t.Helper()
	waitFor(t, "every connection to be released", func() bool { return s.srv.Gauges().OpenConns == 0 })
}

// onTransports runs f against a server configured by configure on each
// transport.
func onTransports(t *testing.T, configure func(*h2loop.Server), f func(t *testing.T, s *cbServer)) {
	for _, kind := range []string{"fd", "netpoll", "std", "tls"} {
		t.Run(kind, func(t *testing.T) {
			if kind == "fd" || kind == "netpoll" {
				t.Setenv("H2LOOP_REACTOR", kind)
			}
			lb := &logBuffer{}
			cfg := func(srv *h2loop.Server) {
				srv.ErrorLog = log.New(lb, "", 0)
				configure(srv)
			}
			s := &cbServer{log: lb}
			switch kind {
			case "tls":
				var srvp *h2loop.Server
				s.addr, s.pool = startTLSServer(t, h2loop.HandlerFunc(helloHandler), func(srv *h2loop.Server) {
					cfg(srv)
					srvp = srv
				})
				s.srv = srvp
			default:
				srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler)}
				cfg(srv)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				s.addr, s.srv = ln.Addr().String(), srv
				if kind == "std" {
					ln = plainListener{ln}
				}
				done := make(chan error, 1)
				go func() { done <- srv.Serve(ln) }()
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(ctx)
					wantServeClosed(t, done)
				})
			}
			f(t, s)
		})
	}
}

// wantClosedByServer dials addr and waits for the server to close the
// connection without a byte.
func wantClosedByServer(t *testing.T, addr string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, %v: want the connection closed by the server", n, err)
	}
}

// panicFirst returns a function that panics on its first call only.
func panicFirst(what string) (f func(), calls *atomic.Int32) {
	calls = new(atomic.Int32)
	return func() {
		if calls.Add(1) == 1 {
			panic(what + " panics")
		}
	}, calls
}

func TestConnStatePanicAtAccept(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		first, _ := panicFirst("ConnState")
		srv.ConnState = func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				first()
			}
		}
	}, func(t *testing.T, s *cbServer) { s.wantAcceptPanic(t, "ConnState") })
}

func TestConnContextPanic(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		first, _ := panicFirst("ConnContext")
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			first()
			return ctx
		}
	}, func(t *testing.T, s *cbServer) { s.wantAcceptPanic(t, "ConnContext") })
}

// A BaseContext that panics at accept (through ConnContext) is a
// ConnContext panic.
func TestBaseContextPanicAtAccept(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		first, _ := panicFirst("BaseContext")
		srv.BaseContext = func() context.Context {
			first()
			return context.Background()
		}
		srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return ctx }
	}, func(t *testing.T, s *cbServer) { s.wantAcceptPanic(t, "ConnContext") })
}

// ConnState panics on every later state: the requests are served all
// the same.
func TestConnStatePanicLaterStates(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		srv.ConnState = func(c net.Conn, s http.ConnState) {
			if s != http.StateNew {
				panic("ConnState panics on " + s.String())
			}
		}
	}, func(t *testing.T, s *cbServer) {
		for i := 0; i < 3; i++ {
			if err := s.get(); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		// StateActive and StateClosed per connection (one a request),
		// and StateIdle too unless the client's close is seen before the
		// handler's end is: nothing is reported after StateClosed.
		s.wantPanics(t, 6, "ConnState")
		s.wantNoConns(t)
	})
}

func TestAccessLogPanic(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		srv.AccessLog = func(ctx *h2loop.RequestCtx, status int, elapsed time.Duration) { panic("AccessLog panics") }
	}, func(t *testing.T, s *cbServer) {
		for i := 0; i < 3; i++ {
			if err := s.get(); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		s.wantPanics(t, 3, "AccessLog")
		if got := s.srv.Metrics().HandlerPanics.Load(); got != 0 {
			t.Errorf("HandlerPanics = %d, want 0", got)
		}
		s.wantNoConns(t)
	})
}

// An InlineHandlerFunc that panics sends the request to the worker pool.
func TestInlineHandlerFuncPanic(t *testing.T) {
	onTransports(t, func(srv *h2loop.Server) {
		srv.InlineHandlerFunc = func(ctx *h2loop.RequestCtx) bool { panic("InlineHandlerFunc panics") }
	}, func(t *testing.T, s *cbServer) {
		for i := 0; i < 3; i++ {
			if err := s.get(); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		s.wantPanics(t, 3, "InlineHandlerFunc")
		s.wantNoConns(t)
	})
}

func TestOnShutdownPanic(t *testing.T) {
	lb := &logBuffer{}
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler), ErrorLog: log.New(lb, "", 0)}
	ran := make(chan struct{})
	srv.RegisterOnShutdown(func() { panic("OnShutdown panics") })
	srv.RegisterOnShutdown(func() { close(ran) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s := &cbServer{srv: srv, addr: ln.Addr().String(), log: lb}
	if err := s.get(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wantServeClosed(t, done)
	<-ran
	s.wantPanics(t, 1, "RegisterOnShutdown")
}

// panicHandler is a slog.Handler whose Handle panics.
type panicHandler struct{ calls atomic.Int32 }

func (h *panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *panicHandler) WithGroup(string) slog.Handler            { return h }
func (h *panicHandler) Handle(context.Context, slog.Record) error {
	h.calls.Add(1)
	panic("slog handler panics")
}

// panicWriter is an io.Writer that panics.
type panicWriter struct{ calls atomic.Int32 }

func (w *panicWriter) Write([]byte) (int, error) {
	w.calls.Add(1)
	panic("ErrorLog's writer panics")
}

// A Logger (or ErrorLog) that panics on the lines of a bad client: the
// server goes on serving. The panic itself goes to the standard logger.
func TestLoggerPanic(t *testing.T) {
	for _, which := range []string{"Logger", "ErrorLog"} {
		t.Run(which, func(t *testing.T) {
			std := &logBuffer{}
			log.SetOutput(std)
			defer log.SetOutput(os.Stderr)
			ph, pw := &panicHandler{}, &panicWriter{}
			onTransports(t, func(srv *h2loop.Server) {
				srv.ErrorLog = nil
				if which == "Logger" {
					srv.Logger = slog.New(ph)
				} else {
					srv.ErrorLog = log.New(pw, "", 0)
				}
			}, func(t *testing.T, s *cbServer) {
				s.log = std
				before := ph.calls.Load() + pw.calls.Load()
				// Bytes that are neither a preface nor a request: the
				// server logs a line and closes the connection.
				c, err := net.Dial("tcp", s.addr)
				if err != nil {
					t.Fatal(err)
				}
				c.Write([]byte("NOT HTTP AT ALL\r\n\r\n"))
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, c)
				c.Close()
				waitFor(t, "the log to be called", func() bool { return ph.calls.Load()+pw.calls.Load() > before })
				s.wantPanics(t, 1, which)
				if err := s.get(); err != nil {
					t.Fatalf("after the panic: %v", err)
				}
				s.wantNoConns(t)
			})
		})
	}
}

// TLSConfig's callbacks run in the handshake: a GetCertificate that
// panics closes that connection only.
func TestTLSCallbackPanic(t *testing.T) {
	cert, pool := selfSigned(t)
	lb := &logBuffer{}
	first, _ := panicFirst("GetCertificate")
	var srvp *h2loop.Server
	addr, _ := startTLSServer(t, h2loop.HandlerFunc(helloHandler), func(srv *h2loop.Server) {
		srvp = srv
		srv.ErrorLog = log.New(lb, "", 0)
		srv.TLSConfig = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			first()
			return &cert, nil
		}}
	})
	s := &cbServer{srv: srvp, addr: addr, pool: pool, log: lb}
	if err := s.get(); err == nil {
		t.Fatal("the first handshake succeeded, want it to fail")
	}
	s.wantPanics(t, 1, "TLS handshake")
	if err := s.get(); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
	s.wantNoConns(t)
}

// BaseContext runs when a request's context is first used, inside the
// handler: a panic there is the handler's (its stream reset, counted in
// HandlerPanics); the server goes on serving.
func TestBaseContextPanicInHandler(t *testing.T) {
	addr, srv := startServer(t, func(srv *h2loop.Server) {
		srv.ErrorLog = log.New(io.Discard, "", 0)
		srv.BaseContext = func() context.Context { panic("BaseContext panics") }
		srv.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if ctx.Path() == "/ctx" {
				<-ctx.Context().Done()
			}
			helloHandler(ctx)
		})
	})
	c := h2cClient()
	defer c.CloseIdleConnections()
	if resp, err := c.Get("http://" + addr + "/ctx"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /ctx: %s, want the stream reset", resp.Status)
	}
	if err := helloOK(addr); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
	if n := srv.Metrics().HandlerPanics.Load(); n != 1 {
		t.Fatalf("HandlerPanics = %d, want 1", n)
	}
}
