package h2loop_test

import (
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// TestPartialFrameReadTimeout: a client that sends the start of a frame
// and nothing more is closed once ReadTimeout has passed (counted from the
// partial frame's first bytes, checked at the once-a-second tick), with a
// log line, on both cleartext reactors; a complete request before it was
// answered.
func TestPartialFrameReadTimeout(t *testing.T) {
	for _, reactor := range []string{"netpoll", "fd"} {
		t.Run(reactor, func(t *testing.T) {
			t.Setenv("H2LOOP_REACTOR", reactor)
			var logs logBuffer
			addr, _, _ := servedServer(t, func(s *h2loop.Server) {
				s.ReadTimeout = time.Second
				s.ErrorLog = log.New(&logs, "", 0)
			})
			rc := dialRaw(t, addr)
			rc.handshake()
			rc.write(rc.get(1, "/"))
			for {
				f := rc.mustRead()
				if f.StreamID == 1 && f.Flags.Has(codec.FlagEndStream) {
					break
				}
			}
			frame := rc.get(3, "/")
			rc.write(frame[:len(frame)/2])
			start := time.Now()
			for {
				_, err := rc.read(15 * time.Second)
				if err == nil {
					continue
				}
				if !errors.Is(err, io.EOF) && !isClosedErr(err) {
					t.Fatalf("after %v: %v, want the connection closed", time.Since(start), err)
				}
				break
			}
			// The server times the frame from its own reading of the
			// bytes, which may precede start by the write's return.
			if el := time.Since(start); el < time.Second-50*time.Millisecond {
				t.Fatalf("closed after %v, before ReadTimeout", el)
			}
			waitFor(t, "the log line", func() bool { return strings.Contains(logs.String(), "incomplete frame") })
		})
	}
}

// TestFDRemoteAddr: a handler on the fd reactor sees its client's address
// (the peer address accept returned) as a *net.TCPAddr equal to the
// client's local address, over IPv4 and IPv6.
func TestFDRemoteAddr(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "fd")
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			host := "127.0.0.1:0"
			if network == "tcp6" {
				host = "[::1]:0"
			}
			ln, err := net.Listen(network, host)
			if err != nil {
				t.Skipf("no %s loopback here: %v", network, err)
			}
			seen := make(chan net.Addr, 1)
			srv := &h2loop.Server{Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
				seen <- ctx.RemoteAddr()
				ctx.SetBodyString("ok")
			})}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			rc := dialRaw(t, ln.Addr().String())
			rc.handshake()
			rc.write(rc.get(1, "/"))
			var got net.Addr
			select {
			case got = <-seen:
			case <-time.After(10 * time.Second):
				t.Fatal("no request reached the handler")
			}
			ta, ok := got.(*net.TCPAddr)
			want := rc.nc.LocalAddr().(*net.TCPAddr)
			if !ok || !ta.IP.Equal(want.IP) || ta.Port != want.Port || ta.String() != want.String() {
				t.Fatalf("handler saw RemoteAddr %#v (%v), want %v", got, got, want)
			}
		})
	}
}
