package h2loop_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/internal/testutil"
	"golang.org/x/net/http2/hpack"
)

// staticPattern is an immutable body source: byte i = 'a'+i%26.
var staticPattern = func() []byte {
	b := make([]byte, 24<<20)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// staticHandler answers /static/N with the first N bytes of staticPattern
// as a static body (sent by reference on the fd reactor), anything else
// as helloHandler does.
func staticHandler(ctx *h2loop.RequestCtx) {
	if p, ok := strings.CutPrefix(ctx.Path(), "/static/"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > len(staticPattern) {
			ctx.SetStatus(400)
			return
		}
		ctx.SetBodyStatic(staticPattern[:n])
		return
	}
	helloHandler(ctx)
}

// fdReactorRuns reports whether H2LOOP_REACTOR=fd serves on the fd
// reactor here.
func fdReactorRuns() bool { return runtime.GOOS == "linux" }

// patternError describes how b differs from the first want bytes of the
// pattern, or returns "" when it is that.
func patternError(b []byte, want int) string {
	if len(b) != want {
		return fmt.Sprintf("%d bytes, want %d", len(b), want)
	}
	for i, c := range b {
		if c != 'a'+byte(i%26) {
			return fmt.Sprintf("byte %d is %q, want %q", i, c, 'a'+byte(i%26))
		}
	}
	return ""
}

// TestStaticBodiesBlockedSocket: static bodies of several streams,
// larger together than the sockets' buffers, to a client that reads
// nothing for a while (the server's writes find the socket full) and then
// everything: every body arrives whole and in order, interleaved with a
// small response and a PING answered meanwhile, on both cleartext
// reactors. On the fd reactor the bodies go out by reference, and what
// the socket refuses waits in the engine until the socket takes more.
func TestStaticBodiesBlockedSocket(t *testing.T) {
	for _, reactor := range []string{"netpoll", "fd"} {
		t.Run(reactor, func(t *testing.T) {
			t.Setenv("H2LOOP_REACTOR", reactor)
			addr, srv, _ := servedServer(t, func(s *h2loop.Server) { s.Handler = h2loop.HandlerFunc(staticHandler) })
			rc := dialRawWideOpen(t, addr)
			sizes := map[uint32]int{1: 20_000_000, 3: 5_000_001, 7: 3000, 9: 16384}
			var req []byte
			for _, id := range []uint32{1, 3} {
				req = append(req, rc.get(id, "/static/"+strconv.Itoa(sizes[id]))...)
			}
			rc.write(req)
			waitFor(t, "a write to find the socket full", func() bool { return srv.Metrics().WritesBlocked.Load() > 0 })
			// While the output waits: a small response, more static
			// bodies and a PING, all behind what is queued.
			req = append(rc.get(5, "/"), codec.AppendPing(nil, false, [8]byte{'s', 't', 'a', 't', 'i', 'c'})...)
			for _, id := range []uint32{7, 9} {
				req = append(req, rc.get(id, "/static/"+strconv.Itoa(sizes[id]))...)
			}
			rc.write(req)
			bodies := map[uint32][]byte{}
			ended := map[uint32]bool{}
			pong := false
			for len(ended) < 5 || !pong {
				f := rc.mustRead()
				switch f.Type {
				case codec.FrameHeaders:
					if s := rc.status(f); s != "200" {
						t.Fatalf("stream %d: status %s", f.StreamID, s)
					}
				case codec.FrameData:
					if ended[f.StreamID] {
						t.Fatalf("DATA on stream %d after END_STREAM", f.StreamID)
					}
					if len(f.p) > codec.DefaultMaxFrameSize {
						t.Fatalf("DATA of %d bytes", len(f.p))
					}
					bodies[f.StreamID] = append(bodies[f.StreamID], f.p...)
					ended[f.StreamID] = f.Flags.Has(codec.FlagEndStream)
					if !ended[f.StreamID] {
						delete(ended, f.StreamID)
					}
				case codec.FramePing:
					if !f.Flags.Has(codec.FlagAck) || string(f.p[:6]) != "static" {
						t.Fatalf("PING %v %q", f.Flags, f.p)
					}
					pong = true
				case codec.FrameGoAway, codec.FrameRSTStream:
					t.Fatalf("%v on stream %d", f.Type, f.StreamID)
				}
			}
			for id, n := range sizes {
				if e := patternError(bodies[id], n); e != "" {
					t.Fatalf("stream %d: %s", id, e)
				}
			}
			if string(bodies[5]) != "hello, world!\n" {
				t.Fatalf("stream 5: %q", bodies[5])
			}
		})
	}
}

// TestStaticBodyShutdownBlocked: a graceful shutdown while a static body
// framed whole (WriteChunk above its size, so its stream is over for the
// engine) waits for a client that reads nothing, over a Unix socket (whose
// small buffer the body overflows): the client does not answer the
// shutdown's PING, the final GOAWAY follows SettingsTimeout later and the
// engine closes with most of the body unwritten. The fd reactor keeps
// that output for the lingering close, which sends it before shutting the
// socket down: the client, reading only once Shutdown has returned, gets
// the whole body, the final GOAWAY and the close.
func TestStaticBodyShutdownBlocked(t *testing.T) {
	if !fdReactorRuns() {
		t.Skip("SKIP: the fd reactor runs on Linux only")
	}
	t.Setenv("H2LOOP_REACTOR", "fd")
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(staticHandler), WriteChunk: 768 << 10, SettingsTimeout: time.Second}
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	nc, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	rc.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { rc.fields = append(rc.fields, f) })
	const n = 700_000
	rc.write(append([]byte(codec.ClientPreface), codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: n})...))
	rc.handshake()
	rc.write(append(codec.AppendWindowUpdate(nil, 0, n), rc.get(1, "/static/"+strconv.Itoa(n))...))
	waitFor(t, "a write to find the socket full", func() bool { return srv.Metrics().WritesBlocked.Load() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wantServeClosed(t, done)
	var body []byte
	ended, finalGoAway := false, false
	for {
		f, err := rc.read(10 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || isConnReset(err) {
				break
			}
			t.Fatalf("read: %v", err)
		}
		switch f.Type {
		case codec.FrameData:
			if ended || finalGoAway {
				t.Fatalf("DATA after END_STREAM (%v) or the final GOAWAY (%v)", ended, finalGoAway)
			}
			body = append(body, f.p...)
			ended = f.Flags.Has(codec.FlagEndStream)
		case codec.FrameGoAway:
			if ga := goAwayOf(t, f); ga.LastStreamID == 1 {
				if ga.Code != codec.ErrCodeNo {
					t.Fatalf("final GOAWAY %v", ga.Code)
				}
				finalGoAway = true
			}
		}
	}
	if e := patternError(body, n); e != "" || !ended {
		t.Fatalf("body: %s (END_STREAM %v)", e, ended)
	}
	if !finalGoAway {
		t.Fatal("no final GOAWAY after the body")
	}
}

// TestStaticBodyClients: Go's HTTP/2 client, curl and h2load fetch static
// bodies of many sizes (concurrently, for Go's client and h2load) and
// get exactly the pattern, on both cleartext reactors.
func TestStaticBodyClients(t *testing.T) {
	sizes := []int{0, 1, 2047, 2048, 2049, 16383, 16384, 16385, 65535, 65536, 100_000, 1 << 20, 3<<20 + 7}
	for _, reactor := range []string{"netpoll", "fd"} {
		t.Run(reactor, func(t *testing.T) {
			t.Setenv("H2LOOP_REACTOR", reactor)
			addr, _, _ := servedServer(t, func(s *h2loop.Server) { s.Handler = h2loop.HandlerFunc(staticHandler) })
			client := testutil.H2CClient()
			errs := make(chan string, len(sizes))
			for _, n := range sizes {
				go func() {
					resp, err := client.Get("http://" + addr + "/static/" + strconv.Itoa(n))
					if err != nil {
						errs <- err.Error()
						return
					}
					defer resp.Body.Close()
					b, err := io.ReadAll(resp.Body)
					switch {
					case err != nil:
						errs <- err.Error()
					case resp.StatusCode != http.StatusOK || resp.ContentLength != int64(n):
						errs <- fmt.Sprintf("size %d: status %d, content-length %d", n, resp.StatusCode, resp.ContentLength)
					default:
						if e := patternError(b, n); e != "" {
							errs <- fmt.Sprintf("size %d: %s", n, e)
						} else {
							errs <- ""
						}
					}
				}()
			}
			for range sizes {
				if e := <-errs; e != "" {
					t.Fatalf("Go's client: %s", e)
				}
			}
			t.Run("curl", func(t *testing.T) {
				curl := testutil.Tool(t, "curl")
				for _, n := range []int{2048, 16385, 3<<20 + 7} {
					out, err := exec.Command(curl, "-sS", "--http2-prior-knowledge", "http://"+addr+"/static/"+strconv.Itoa(n)).Output()
					if err != nil {
						t.Fatalf("curl: %v", err)
					}
					if e := patternError(out, n); e != "" {
						t.Fatalf("curl, size %d: %s", n, e)
					}
				}
			})
			t.Run("h2load", func(t *testing.T) {
				h2load := testutil.Tool(t, "h2load")
				const n = 1<<20 + 13
				out, err := exec.Command(h2load, "-n", "64", "-c", "4", "-m", "4",
					"http://"+addr+"/static/"+strconv.Itoa(n)).CombinedOutput()
				if err != nil {
					t.Fatalf("h2load: %v\n%s", err, out)
				}
				// h2load counts the bytes of every response body: a body
				// cut short or run over shows as a failed request or a
				// different total.
				if !strings.Contains(string(out), "64 succeeded, 0 failed, 0 errored") ||
					!strings.Contains(string(out), fmt.Sprintf("(%d) data", 64*n)) {
					t.Fatalf("h2load:\n%s", out)
				}
			})
		})
	}
}
