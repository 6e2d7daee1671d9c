package h2loop_test

import (
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// TestSilentConnectionClosed: a connection that sends nothing at all is
// closed after SettingsTimeout, with a timeout counted and logged, on the
// netpoll path and on the standard library path (any listener netpoll
// cannot take over).
func TestSilentConnectionClosed(t *testing.T) {
	onBothPaths(t, func(t *testing.T, std bool) {
		var logs logBuffer
		srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler), SettingsTimeout: 300 * time.Millisecond,
			ErrorLog: log.New(&logs, "", 0)}
		addr := serveVia(t, srv, std)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := nc.Read(make([]byte, 100))
		if n != 0 || err == nil || isTimeout(err) {
			t.Fatalf("read %d bytes, %v; want the connection closed", n, err)
		}
		if got := srv.Metrics().Timeouts.Load(); got != 1 {
			t.Fatalf("%d timeouts counted, want 1", got)
		}
		if !strings.Contains(logs.String(), "nothing received within 300ms: closing") {
			t.Fatalf("no log line in %q", logs.String())
		}
		// A client that speaks at once is served as usual.
		if err := helloOK(addr); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSilentConnectionShutdown: Shutdown closes connections that have not
// sent anything yet instead of waiting for them.
func TestSilentConnectionShutdown(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	time.Sleep(50 * time.Millisecond) // accepted
	start := time.Now()
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantServeClosed(t, done)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := nc.Read(make([]byte, 100)); n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("read %d bytes, %v after Shutdown (%v); want the connection closed", n, err, time.Since(start))
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestMaxConns: with MaxConns open, a further connection is closed as soon
// as it is accepted, counted and logged; once one closes, a new one is
// served. Both the netpoll and the standard library paths.
func TestMaxConns(t *testing.T) {
	onBothPaths(t, func(t *testing.T, std bool) {
		var logs logBuffer
		srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler), MaxConns: 2, ErrorLog: log.New(&logs, "", 0)}
		addr := serveVia(t, srv, std)
		// Two connections that have spoken (an HTTP/2 GET each) and one
		// that has not are all counted: the third one fills the limit.
		c1, c2 := h2cClient(), h2cClient()
		for _, c := range []*http.Client{c1, c2} {
			resp, err := c.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := nc.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
			t.Fatalf("third connection: read %d, %v; want it closed", n, err)
		}
		if got := srv.Metrics().ConnsRejected.Load(); got != 1 {
			t.Fatalf("ConnsRejected %d, want 1", got)
		}
		if !strings.Contains(logs.String(), "2 connections open (MaxConns): closing new connections") {
			t.Fatalf("no log line in %q", logs.String())
		}
		// One closes; a new connection is served.
		c1.CloseIdleConnections()
		waitFor(t, "a connection to be served after one closed", func() bool {
			return helloOK(addr) == nil
		})
	})
}

// TestMaxConnsReleased: every way a connection ends gives its place back.
// With MaxConns 3, many more connections than that come and go, one at a
// time, each ending differently; none is rejected.
func TestMaxConnsReleased(t *testing.T) {
	onBothPaths(t, func(t *testing.T, std bool) {
		srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler), MaxConns: 3, SettingsTimeout: 200 * time.Millisecond}
		addr := serveVia(t, srv, std)
		base := srv.Metrics().Conns.Load()
		endings := []func(){
			func() { // HTTP/2, closed by the client
				c := h2cClient()
				resp, err := c.Get("http://" + addr + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				c.CloseIdleConnections()
			},
			func() { // HTTP/1.1 with Connection: close
				req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
				req.Close = true
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			},
			func() { // garbage: closed by the server
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.Write([]byte("\x00\x01\x02 not a protocol\r\n\r\n"))
				nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, nc)
				nc.Close()
			},
			func() { // connects, sends nothing: closed by the server
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.Copy(io.Discard, nc)
				nc.Close()
			},
			func() { // HTTP/2 preface, then the client goes away
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				nc.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
				nc.Close()
			},
		}
		for i := 0; i < 4; i++ {
			for _, end := range endings {
				end()
			}
		}
		waitFor(t, "a request to be served after the churn", func() bool {
			return helloOK(addr) == nil
		})
		if n := srv.Metrics().ConnsRejected.Load(); n != 0 {
			t.Fatalf("%d connections rejected with at most 2 open at a time (%d started)", n, srv.Metrics().Conns.Load()-base)
		}
	})
}

// onBothPaths runs f as two subtests: the netpoll path, and the standard
// library path that serves listeners netpoll cannot take over.
func onBothPaths(t *testing.T, f func(t *testing.T, std bool)) {
	t.Run("netpoll", func(t *testing.T) { f(t, false) })
	t.Run("std", func(t *testing.T) { f(t, true) })
}

// serveVia serves srv on a loopback port, through netpoll or (std) behind a
// listener type netpoll cannot take over, and returns the address.
func serveVia(t *testing.T, srv *h2loop.Server, std bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served net.Listener = ln
	if std {
		served = struct{ net.Listener }{ln} // not a *net.TCPListener: served without netpoll
	}
	go srv.Serve(served)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
