package h2loop_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/h2loop/h2loop"
)

// wsEcho is a WebSocket echo server on coder/websocket, which takes the
// connection with WriteHeader(101) and http.Hijacker.
func wsEcho(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, append([]byte("echo:"), b...)); err != nil {
				return
			}
		}
	})
}

// stdOnlyListener hides the TCP listener's type, so that Serve uses the
// standard library's path (a goroutine per connection) instead of netpoll.
type stdOnlyListener struct{ net.Listener }

// startWrappedStd is startWrapped on the standard library's path.
func startWrappedStd(t *testing.T, h http.Handler) string {
	url, _ := startWrappedStdServer(t, h)
	return url
}

func startWrappedStdServer(t *testing.T, h http.Handler) (string, *h2loop.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2loop.Server{Handler: h2loop.WrapHandler(h)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(stdOnlyListener{ln}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return "http://" + ln.Addr().String(), srv
}

// wsRoundTrips dials url with coder/websocket and checks n echoes.
func wsRoundTrips(t *testing.T, url string, client *http.Client, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for i := range n {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i*97))
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("Write: %v", err)
		}
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if typ != websocket.MessageText || string(b) != "echo:"+msg {
			t.Fatalf("echo %d: %v %.40q", i, typ, b)
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A WebSocket echo through a real WebSocket library (server and client)
// over Hijack on HTTP/1.1: on the netpoll reactor, on the standard
// library's path, and over TLS (ALPN http/1.1).
func TestWrapHandlerHijackWebSocket(t *testing.T) {
	h := wsEcho(t)
	plain := &http.Client{Timeout: 30 * time.Second}

	t.Run("netpoll", func(t *testing.T) {
		url := startWrapped(t, h, nil)
		for range 3 {
			wsRoundTrips(t, "ws"+strings.TrimPrefix(url, "http")+"/ws", plain, 50)
		}
	})
	t.Run("std", func(t *testing.T) {
		url := startWrappedStd(t, h)
		wsRoundTrips(t, "ws"+strings.TrimPrefix(url, "http")+"/ws", plain, 50)
	})
	t.Run("tls", func(t *testing.T) {
		addr, pool := startTLSServer(t, h2loop.WrapHandler(h), nil)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		t.Cleanup(tr.CloseIdleConnections)
		wsRoundTrips(t, "wss://"+addr+"/ws", &http.Client{Transport: tr, Timeout: 30 * time.Second}, 50)
	})
}

// Hijack hands over the bytes already read after the request, after the
// responses to the requests before it; the server then forgets the
// connection (Shutdown neither waits for nor closes it).
func TestWrapHandlerHijackPipelined(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hj" {
			io.WriteString(w, "plain "+r.URL.Path)
			return
		}
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		if _, _, err := http.NewResponseController(w).Hijack(); !errors.Is(err, http.ErrHijacked) {
			t.Errorf("second Hijack: %v, want http.ErrHijacked", err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
			t.Errorf("Write after Hijack: %v, want http.ErrHijacked", err)
		}
		go func() { // the handler returns: the connection stays open
			defer nc.Close()
			line, err := brw.ReadString('\n')
			if err != nil {
				t.Errorf("reading the hijacked connection: %v", err)
				return
			}
			brw.WriteString("hijacked got " + line)
			brw.Flush()
			line, _ = brw.ReadString('\n')
			brw.WriteString("then " + line)
			brw.Flush()
		}()
	})
	for _, start := range []struct {
		name  string
		serve func() (string, *h2loop.Server)
	}{
		{"netpoll", func() (string, *h2loop.Server) {
			addr, srv := startServer(t, func(s *h2loop.Server) { s.Handler = h2loop.WrapHandler(h) })
			return "http://" + addr, srv
		}},
		{"std", func() (string, *h2loop.Server) { return startWrappedStdServer(t, h) }},
	} {
		t.Run(start.name, func(t *testing.T) {
			url, srv := start.serve()
			addr := strings.TrimPrefix(url, "http://")
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /hj HTTP/1.1\r\nHost: x\r\n\r\nhello\n")
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != "plain /a" {
				t.Fatalf("first response %q", b)
			}
			line, err := br.ReadString('\n')
			if err != nil || line != "hijacked got hello\n" {
				t.Fatalf("after Hijack: %q %v", line, err)
			}
			// The server forgot the connection: Shutdown does not wait for
			// it (beyond netpoll's own second for connections it sees
			// busy) and does not close it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown with a hijacked connection open: %v", err)
			}
			io.WriteString(c, "more\n")
			if line, err = br.ReadString('\n'); err != nil || line != "then more\n" {
				t.Fatalf("second exchange: %q %v", line, err)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the handler's Close: %v, want EOF", err)
			}
		})
	}
}

// Over HTTP/2, Hijack returns http.ErrNotSupported, as net/http's does.
func TestWrapHandlerHijackHTTP2(t *testing.T) {
	errs := make(chan error, 1)
	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _, err := http.NewResponseController(w).Hijack()
		errs <- err
		io.WriteString(w, "still here")
	}), nil)
	_, b := mustDo(t, h2cClient(), mustRequest(t, "GET", url+"/", nil))
	if err := <-errs; !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("Hijack over HTTP/2: %v, want http.ErrNotSupported", err)
	}
	if string(b) != "still here" {
		t.Fatalf("body %q", b)
	}
}

// When the client closes a hijacked connection, the handler's read ends
// with io.EOF (netpoll's own errors do not leak out), and its Close then
// succeeds.
func TestWrapHandlerHijackPeerClose(t *testing.T) {
	results := make(chan string, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			results <- "Hijack: " + err.Error()
			return
		}
		brw.WriteString("ready\n")
		brw.Flush()
		_, err = brw.ReadByte()
		cerr := nc.Close()
		results <- fmt.Sprintf("read %v, close %v", err, cerr)
	})
	for name, url := range map[string]string{"netpoll": startWrapped(t, h, nil), "std": startWrappedStd(t, h)} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if line, err := bufio.NewReader(c).ReadString('\n'); line != "ready\n" {
				t.Fatalf("%q %v", line, err)
			}
			c.Close()
			if got := <-results; got != "read EOF, close <nil>" {
				t.Fatalf("handler: %s", got)
			}
		})
	}
}

// TestWrapHandlerHijackUnreadInput: the reactor reads a hijacked
// connection's input into its own buffer whether the handler reads or not;
// a client that sends more than MaxBufferedInput the handler has not read
// gets the connection closed (FloodErrors, a log line) instead of growing
// the server's memory, and the handler's next read says so.
func TestWrapHandlerHijackUnreadInput(t *testing.T) {
	for _, reactor := range []string{"netpoll", "fd"} {
		t.Run(reactor, func(t *testing.T) {
			t.Setenv("H2LOOP_REACTOR", reactor)
			hijackUnreadInput(t, reactor)
		})
	}
}

func hijackUnreadInput(t *testing.T, reactor string) {
	var srv *h2loop.Server
	var logs logBuffer
	proceed := make(chan struct{})
	results := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			results <- err
			return
		}
		defer nc.Close()
		brw.WriteString("ready\n")
		brw.Flush()
		<-proceed // reads nothing meanwhile
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = io.Copy(io.Discard, nc)
		results <- err
	})
	url := startWrapped(t, h, func(s *h2loop.Server) {
		s.MaxBufferedInput = 256 << 10
		s.ErrorLog = log.New(&logs, "", 0)
		srv = s
	})
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if line, err := bufio.NewReader(c).ReadString('\n'); line != "ready\n" {
		t.Fatalf("%q %v", line, err)
	}
	chunk := make([]byte, 64<<10)
	var sent int
	var werr error
	c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	for sent < 64<<20 && werr == nil {
		var n int
		n, werr = c.Write(chunk)
		sent += n
	}
	if sent >= 64<<20 {
		t.Fatalf("the server took %d MiB its handler did not read", sent>>20)
	}
	if reactor == "fd" {
		// HTTP/1.1 is served on the standard library's path there: nothing
		// reads for a hijacked connection but its handler, so the kernel's
		// buffers bound what the client can send.
		if ne, ok := werr.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("write: %v after %d KiB, want the client blocked by the kernel's buffers", werr, sent>>10)
		}
		c.Close()
		close(proceed)
		<-results
		t.Logf("the client was blocked after %d KiB sent", sent>>10)
		return
	}
	close(proceed)
	if err := <-results; err == nil {
		t.Log("the handler read to EOF")
	}
	if n := srv.Metrics().FloodErrors.Load(); n != 1 {
		t.Fatalf("FloodErrors %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "has not read") {
		t.Fatalf("no log line in %q", logs.String())
	}
	t.Logf("the connection was closed after %d KiB sent", sent>>10)
}
