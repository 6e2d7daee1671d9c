package h2loop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/internal/testutil"
)

// helloHandler implements the examples/hello contract for the tests.
func helloHandler(ctx *h2loop.RequestCtx) {
	path := ctx.Path()
	switch {
	case path == "/":
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello, world!\n")
	case strings.HasPrefix(path, "/bytes/"):
		n, _ := strconv.Atoi(path[len("/bytes/"):])
		b := ctx.BodyBuffer()
		for i := 0; i < n; i++ {
			b = append(b, 'a'+byte(i%26))
		}
		ctx.SetBodyRaw(b)
	case path == "/echo":
		buf := make([]byte, 16<<10)
		for {
			n, err := ctx.Read(buf)
			if n > 0 {
				ctx.Write(buf[:n])
				if ctx.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case strings.HasPrefix(path, "/delay/"):
		ms, _ := strconv.Atoi(path[len("/delay/"):])
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return
		}
		ctx.WriteString("delayed\n")
	default:
		ctx.SetStatus(404)
	}
}

// startServer serves h on a loopback port and returns its address.
func startServer(t testing.TB, configure func(*h2loop.Server)) (string, *h2loop.Server) {
	t.Helper()
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler)}
	if configure != nil {
		configure(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		select {
		case err := <-done:
			if err != h2loop.ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return ln.Addr().String(), srv
}

func h2cClient() *http.Client { return testutil.H2CClient() }

func TestGoTransportH2C(t *testing.T) {
	addr, _ := startServer(t, nil)
	c := h2cClient()
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello, world!\n" || resp.ProtoMajor != 2 {
		t.Fatalf("%d %q proto %d", resp.StatusCode, b, resp.ProtoMajor)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
		t.Fatalf("content-type %q", ct)
	}
	resp, err = c.Get("http://" + addr + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestBigResponseAndBody(t *testing.T) {
	addr, _ := startServer(t, nil)
	c := h2cClient()
	resp, err := c.Get("http://" + addr + "/bytes/3000000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 3000000 || resp.ContentLength != 3000000 {
		t.Fatalf("got %d bytes, content-length %d", len(b), resp.ContentLength)
	}
	for i, ch := range b {
		if ch != 'a'+byte(i%26) {
			t.Fatalf("byte %d = %q", i, ch)
		}
	}
	// A request body far larger than the stream and connection windows.
	body := bytes.Repeat([]byte("0123456789abcdef"), 300000) // 4.8 MB
	resp, err = c.Post("http://"+addr+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(body))
	}
}

func TestManyConcurrentStreamsOneConn(t *testing.T) {
	addr, _ := startServer(t, nil)
	c := h2cClient()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var resp *http.Response
				var err error
				switch i % 3 {
				case 0:
					resp, err = c.Get("http://" + addr + "/")
				case 1:
					resp, err = c.Get(fmt.Sprintf("http://%s/bytes/%d", addr, 1000+g*37+i))
				default:
					resp, err = c.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", g*100+i)))
				}
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := 0
				switch i % 3 {
				case 0:
					want = 14
				case 1:
					want = 1000 + g*37 + i
				default:
					want = g*100 + i
				}
				if resp.StatusCode != 200 || len(b) != want {
					errs <- fmt.Errorf("status %d, %d bytes, want %d", resp.StatusCode, len(b), want)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestDelayDoesNotBlockOtherStreams(t *testing.T) {
	addr, _ := startServer(t, nil)
	c := h2cClient()
	slow := make(chan error, 1)
	go func() {
		resp, err := c.Get("http://" + addr + "/delay/1500")
		if err == nil {
			resp.Body.Close()
		}
		slow <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a fast request waited %v behind a slow one", d)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

func TestCurl(t *testing.T) {
	curl := testutil.Tool(t, "curl")
	addr, _ := startServer(t, nil)
	out, err := exec.Command(curl, "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "http://"+addr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if string(out) != "hello, world!\n\n2 200" {
		t.Fatalf("curl: %q", out)
	}
	out, err = exec.Command(curl, "-sS", "--http2-prior-knowledge", "--data-binary", "ping-pong", "http://"+addr+"/echo").CombinedOutput()
	if err != nil || string(out) != "ping-pong" {
		t.Fatalf("curl echo: %v %q", err, out)
	}
}

func TestNghttp(t *testing.T) {
	nghttp := testutil.Tool(t, "nghttp")
	addr, _ := startServer(t, nil)
	// 16-bit windows (-w 16 -W 16) force the server through flow control.
	out, err := exec.Command(nghttp, "-n", "-s", "-w", "16", "-W", "16", "http://"+addr+"/bytes/10000000").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "200") && !regexp.MustCompile(`responseEnd`).Match(out) {
		t.Fatalf("nghttp: %s", out)
	}
	out, err = exec.Command(nghttp, "-v", "http://"+addr+"/").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello, world!") || !strings.Contains(string(out), ":status: 200") {
		t.Fatalf("nghttp -v: %v\n%s", err, out)
	}
}

var h2loadSucceeded = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored`)

func runH2load(t *testing.T, args ...string) string {
	h2load := testutil.Tool(t, "h2load")
	out, err := exec.Command(h2load, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("h2load %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func wantAllSucceeded(t *testing.T, out string, n int) {
	t.Helper()
	m := h2loadSucceeded.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in h2load output:\n%s", out)
	}
	if m[1] != strconv.Itoa(n) || m[4] != strconv.Itoa(n) || m[5] != "0" || m[6] != "0" {
		t.Fatalf("h2load: %s\n%s", m[0], out)
	}
}

func TestH2load(t *testing.T) {
	addr, _ := startServer(t, nil)
	out := runH2load(t, "-n", "100000", "-c", "64", "-m", "16", "http://"+addr+"/")
	wantAllSucceeded(t, out, 100000)
	// 10 MB responses to a client with 16-bit windows.
	out = runH2load(t, "-n", "4", "-c", "2", "-w", "16", "-W", "16", "http://"+addr+"/bytes/10000000")
	wantAllSucceeded(t, out, 4)
}

// An inline handler that streams a response larger than the client's
// windows must not deadlock waiting for WINDOW_UPDATE on its own goroutine.
func TestInlineStreamingHandler(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.InlineHandlers = true
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for i := 0; i < 16; i++ {
				ctx.Write(chunk)
				if err := ctx.Flush(); err != nil {
					return
				}
			}
		})
	})
	resp, err := h2cClient().Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 16*64<<10 {
		t.Fatalf("got %d bytes, want %d", len(b), 16*64<<10)
	}
}

// TestSocketFullWrites: a client with huge windows asks for more than the
// socket buffers hold and reads nothing for a while. The server's direct
// writes find the send buffer full, the rest waits in netpoll's writer, and
// the client then receives every byte, in order, and the connection goes on.
func TestSocketFullWrites(t *testing.T) {
	addr, srv, _ := servedServer(t, nil)
	rc := dialRawWideOpen(t, addr)
	const n = 24 << 20 // more than loopback's socket buffers
	rc.write(rc.get(1, "/bytes/"+strconv.Itoa(n)))
	waitFor(t, "a write to find the socket full", func() bool { return srv.Metrics().WritesBlocked.Load() > 0 })
	got, status := 0, ""
	for done := false; !done; {
		f := rc.mustRead()
		if f.StreamID != 1 {
			continue
		}
		switch f.Type {
		case codec.FrameHeaders:
			status = rc.status(f)
		case codec.FrameData:
			for _, ch := range f.p {
				if ch != 'a'+byte(got%26) {
					t.Fatalf("byte %d = %q", got, ch)
				}
				got++
			}
			done = f.Flags.Has(codec.FlagEndStream)
		case codec.FrameRSTStream:
			t.Fatalf("stream reset after %d bytes", got)
		}
	}
	if status != "200" || got != n {
		t.Fatalf("status %q, %d bytes, want 200 and %d", status, got, n)
	}
	rc.write(rc.get(3, "/"))
	for {
		f := rc.mustRead()
		if f.StreamID == 3 && f.Type == codec.FrameData && f.Flags.Has(codec.FlagEndStream) {
			if string(f.p) != "hello, world!\n" {
				t.Fatalf("second response %q", f.p)
			}
			break
		}
	}
}

// dialRawWideOpen connects with the largest windows HTTP/2 allows, so that
// only the socket limits what the server sends.
func dialRawWideOpen(t *testing.T, addr string) *rawConn {
	rc := dialRaw(t, addr)
	const maxWindow = 1<<31 - 1
	rc.write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: maxWindow}))
	rc.write(codec.AppendWindowUpdate(nil, 0, maxWindow-codec.DefaultInitialWindowSize))
	rc.handshake()
	return rc
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSlowReaderWriteTimeout: a client that asks for a large response and
// stops reading is disconnected after WriteTimeout, with a timeout counted
// and logged; its handler is not held.
func TestSlowReaderWriteTimeout(t *testing.T) {
	var logs logBuffer
	addr, srv, _ := servedServer(t, func(s *h2loop.Server) {
		s.WriteTimeout = 300 * time.Millisecond
		s.ErrorLog = log.New(&logs, "", 0)
	})
	rc := dialRawWideOpen(t, addr)
	const n = 24 << 20
	rc.write(rc.get(1, "/bytes/"+strconv.Itoa(n)))
	waitFor(t, "the write timeout", func() bool { return srv.Metrics().Timeouts.Load() == 1 })
	// The line follows the count.
	waitFor(t, "the write timeout's log line", func() bool {
		return strings.Contains(logs.String(), "write timed out after 300ms (the peer is not reading)")
	})
	got := 0
	for {
		f, err := rc.read(10 * time.Second)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isConnReset(err) {
				t.Fatalf("after %d bytes: %v, want the connection closed", got, err)
			}
			break
		}
		if f.Type == codec.FrameData {
			got += len(f.p)
		}
	}
	if got >= n {
		t.Fatalf("all %d bytes arrived; the connection should have been closed", got)
	}
	if err := helloOK(addr); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}
}

// helloOK makes one GET / on a new h2c connection and checks the answer.
func helloOK(addr string) error {
	c := h2cClient()
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || string(b) != "hello, world!\n") {
		err = fmt.Errorf("GET /: %d %q", resp.StatusCode, b)
	}
	return err
}

// TestExpectContinueGoClient: Go's own HTTP/2 client, told to wait for 100
// (Continue) before sending a body, gets it and sends the body.
func TestExpectContinueGoClient(t *testing.T) {
	addr, _ := startServer(t, nil)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p, ExpectContinueTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	got100 := false
	trace := &httptrace.ClientTrace{Got100Continue: func() { got100 = true }}
	req, _ := http.NewRequest("POST", "http://"+addr+"/echo", strings.NewReader("expected body"))
	req.Header.Set("Expect", "100-continue")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := (&http.Client{Transport: tr, Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(b) != "expected body" || !got100 {
		t.Fatalf("HTTP/%d %d %q, got 100 Continue: %v", resp.ProtoMajor, resp.StatusCode, b, got100)
	}
}
