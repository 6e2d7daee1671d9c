package h2loop_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// stateLog records ConnState calls per connection.
type stateLog struct {
	mu     sync.Mutex
	conns  []net.Conn
	states map[net.Conn][]http.ConnState
}

func newStateLog() *stateLog { return &stateLog{states: make(map[net.Conn][]http.ConnState)} }

func (l *stateLog) hook(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.states[c]; !ok {
		l.conns = append(l.conns, c)
	}
	l.states[c] = append(l.states[c], s)
}

// wait waits (at most 10 s) until the one connection's states end with
// last, and returns them.
func (l *stateLog) wait(t *testing.T, last http.ConnState) []http.ConnState {
	t.Helper()
	for i := 0; i < 1000; i++ {
		l.mu.Lock()
		var got []http.ConnState
		if len(l.conns) == 1 {
			got = slices.Clone(l.states[l.conns[0]])
		} else if len(l.conns) > 1 {
			l.mu.Unlock()
			t.Fatalf("%d connections reported, want 1", len(l.conns))
		}
		l.mu.Unlock()
		if len(got) > 0 && got[len(got)-1] == last {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("states %v, want them to end with %v", l.states, last)
	return nil
}

type connKey struct{}

// ConnState reports net/http's states, for HTTP/1.1 keep-alive, HTTP/2
// with concurrent streams, TLS and Hijack; ConnContext's context reaches
// r.Context() under WrapHandler and ctx.Context() in native handlers.
func TestConnStateAndConnContext(t *testing.T) {
	N, A, I, H, C := http.StateNew, http.StateActive, http.StateIdle, http.StateHijacked, http.StateClosed
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _ := r.Context().Value(connKey{}).(string)
		switch r.URL.Path {
		case "/block":
			started <- struct{}{}
			<-release
		case "/hijack":
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhj")
			brw.Flush()
			c.Close()
			return
		}
		io.WriteString(w, "conn "+conn)
	})
	configure := func(l *stateLog) func(*h2loop.Server) {
		return func(s *h2loop.Server) {
			s.ConnState = l.hook
			s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, c.RemoteAddr().String())
			}
		}
	}

	t.Run("http1", func(t *testing.T) {
		l := newStateLog()
		url := startWrapped(t, h, configure(l))
		tr := &http.Transport{}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		var local string
		for range 2 {
			resp, b := mustDo(t, c, mustRequest(t, "GET", url+"/", nil))
			if resp.ProtoMajor != 1 || !strings.HasPrefix(string(b), "conn 127.0.0.1:") {
				t.Fatalf("%s %q", resp.Proto, b)
			}
			if local != "" && string(b) != local {
				t.Fatalf("ConnContext value %q, then %q on the same connection", local, b)
			}
			local = string(b)
		}
		tr.CloseIdleConnections()
		if got, want := l.wait(t, C), []http.ConnState{N, A, I, A, I, C}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
	})

	t.Run("http2", func(t *testing.T) {
		l := newStateLog()
		url := startWrapped(t, h, configure(l))
		tr := h2cTransport(t)
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { mustDo(t, c, mustRequest(t, "GET", url+"/block", nil)) })
		}
		<-started
		<-started // two streams run at once: still one StateActive
		close(release)
		wg.Wait()
		l.wait(t, I) // the response goes out before the handler's end is counted
		if _, b := mustDo(t, c, mustRequest(t, "GET", url+"/", nil)); !strings.HasPrefix(string(b), "conn 127.0.0.1:") {
			t.Fatalf("%q", b)
		}
		l.wait(t, I)
		tr.CloseIdleConnections()
		if got, want := l.wait(t, C), []http.ConnState{N, A, I, A, I, C}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
	})

	t.Run("http1-first-byte", func(t *testing.T) {
		// As net/http: active from a request's first byte, before its
		// handler; idle once its response is done.
		l := newStateLog()
		url := startWrapped(t, h, configure(l))
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if got := l.wait(t, N); len(got) != 1 {
			t.Fatalf("states %v", got)
		}
		io.WriteString(c, "GET / HT")
		if got, want := l.wait(t, A), []http.ConnState{N, A}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
		io.WriteString(c, "TP/1.1\r\nHost: x\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		if got, want := l.wait(t, I), []http.ConnState{N, A, I}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
		c.Close()
		if got, want := l.wait(t, C), []http.ConnState{N, A, I, C}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
	})

	t.Run("h2c-upgrade", func(t *testing.T) {
		// The HTTP/1.1 request that upgrades becomes HTTP/2 stream 1: the
		// connection is idle once that stream's handler is done.
		l := newStateLog()
		url := startWrapped(t, h, configure(l))
		nc, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
		br := bufio.NewReader(nc)
		if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 101") {
			t.Fatalf("%q", line)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if line == "\r\n" {
				break
			}
		}
		rc := &rawConn{t: t, nc: nc, br: br}
		rc.write(append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...))
		for {
			f := rc.mustRead()
			if f.StreamID == 1 && f.Flags.Has(codec.FlagEndStream) {
				break
			}
		}
		// HTTP/1.1 ends with the upgrade (idle), stream 1's handler makes
		// the HTTP/2 connection active.
		if got, want := l.wait(t, I), []http.ConnState{N, A, I, A, I}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
		nc.Close()
		l.wait(t, C)
	})

	t.Run("hijack", func(t *testing.T) {
		l := newStateLog()
		url := startWrapped(t, h, configure(l))
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, b := mustDo(t, &http.Client{Transport: tr, Timeout: 30 * time.Second}, mustRequest(t, "GET", url+"/hijack", nil))
		if resp.StatusCode != 200 || string(b) != "hj" {
			t.Fatalf("%d %q", resp.StatusCode, b)
		}
		if got, want := l.wait(t, H), []http.ConnState{N, A, H}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond) // nothing may follow StateHijacked
		if got := l.wait(t, H); len(got) != 3 {
			t.Fatalf("states %v after StateHijacked", got)
		}
	})

	t.Run("tls", func(t *testing.T) {
		l := newStateLog()
		var connType string
		addr, pool := startTLSServer(t, h2loop.WrapHandler(h), func(s *h2loop.Server) {
			configure(l)(s)
			s.ConnState = func(c net.Conn, st http.ConnState) {
				if st == http.StateNew {
					connType = fmt.Sprintf("%T", c)
				}
				l.hook(c, st)
			}
		})
		c := h2TLSClient(t, pool)
		if _, b := mustDo(t, c, mustRequest(t, "GET", "https://"+addr+"/", nil)); !strings.HasPrefix(string(b), "conn 127.0.0.1:") {
			t.Fatalf("%q", b)
		}
		c.Transport.(*http.Transport).CloseIdleConnections()
		if got, want := l.wait(t, C), []http.ConnState{N, A, I, C}; !slices.Equal(got, want) {
			t.Fatalf("states %v, want %v", got, want)
		}
		if connType != fmt.Sprintf("%T", &tls.Conn{}) {
			t.Fatalf("StateNew with a %s", connType)
		}
	})

	t.Run("native", func(t *testing.T) {
		addr, _ := startServer(t, func(s *h2loop.Server) {
			s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
				return context.WithValue(ctx, connKey{}, "native "+c.LocalAddr().String())
			}
			s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
				v, _ := ctx.Context().Value(connKey{}).(string)
				ctx.WriteString(v)
			})
		})
		if _, b := mustDo(t, h2cClient(), mustRequest(t, "GET", "http://"+addr+"/", nil)); string(b) != "native "+addr {
			t.Fatalf("%q", b)
		}
	})
}
