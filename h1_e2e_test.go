package h2loop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/internal/testutil"
)

// h1Handler serves the HTTP/1.1 end-to-end tests: "/" says hello, "/echo"
// echoes the body, "/proto" reports the protocol and scheme seen by the
// handler, "/stream" sends its body in three flushes.
func h1Handler(ctx *h2loop.RequestCtx) {
	switch ctx.Path() {
	case "/":
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello, world!\n")
	case "/echo":
		body, err := ctx.Body()
		if err != nil {
			ctx.SetStatus(500)
			return
		}
		ctx.Write(body)
	case "/proto":
		ctx.WriteString(ctx.Proto() + " " + ctx.Scheme() + " " + ctx.Method())
	case "/stream":
		for _, s := range []string{"one ", "two ", "three"} {
			ctx.WriteString(s)
			if ctx.Flush() != nil {
				return
			}
		}
	default:
		ctx.SetStatus(404)
	}
}

// startH1Server serves h1Handler on a loopback port, in cleartext (on the
// netpoll reactor) or with TLS; it is shut down when the test ends.
func startH1Server(t *testing.T, tlsConf *tls.Config, configure func(*h2loop.Server)) string {
	t.Helper()
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(h1Handler), TLSConfig: tlsConf}
	if configure != nil {
		configure(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != h2loop.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

// dialH1 opens a raw connection to addr, closed when the test ends, whose
// reads and writes fail after d.
func dialH1(t *testing.T, addr string, d time.Duration) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(d))
	return nc
}

// get fetches url with c and returns the body, checking for status 200 and
// HTTP/1.1; reused reports whether the connection was reused.
func h1Get(t *testing.T, c *http.Client, method, url string, body io.Reader) (string, bool, *http.Response) {
	t.Helper()
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, resp.Proto)
	}
	return string(b), reused, resp
}

func TestH1GoClient(t *testing.T) {
	addr := startH1Server(t, nil, nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	base := "http://" + addr

	for i := 0; i < 3; i++ {
		got, reused, resp := h1Get(t, c, "GET", base+"/", nil)
		if got != "hello, world!\n" || resp.Header.Get("Content-Type") != "text/plain" || resp.ContentLength != 14 {
			t.Fatalf("GET /: %q %v %d", got, resp.Header, resp.ContentLength)
		}
		if reused != (i > 0) {
			t.Fatalf("request %d: reused=%v (keep-alive)", i, reused)
		}
	}
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
	got, reused, _ := h1Get(t, c, "POST", base+"/echo", strings.NewReader(big))
	if got != big || !reused {
		t.Fatalf("POST /echo: %d bytes back, reused=%v", len(got), reused)
	}
	// Go sends a body of unknown length chunked.
	got, _, _ = h1Get(t, c, "POST", base+"/echo", io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")))
	if got != "chunked body" {
		t.Fatalf("chunked POST: %q", got)
	}
	got, _, resp := h1Get(t, c, "GET", base+"/stream", nil)
	if got != "one two three" || resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("stream: %q %d %v", got, resp.ContentLength, resp.TransferEncoding)
	}
	got, _, _ = h1Get(t, c, "GET", base+"/proto", nil)
	if got != "HTTP/1.1 http GET" {
		t.Fatalf("proto: %q", got)
	}
}

// TestH1TooLarge sends bodies above the limit: the client gets its 413
// rather than a connection reset, although it is still sending.
func TestH1TooLarge(t *testing.T) {
	addr := startH1Server(t, nil, func(s *h2loop.Server) { s.MaxRequestBodySize = 1000 })
	for i := 0; i < 10; i++ {
		tr := &http.Transport{}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		resp, err := c.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 4<<20)))
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 413 || string(b) != "request body too large\n" || !resp.Close {
			t.Fatalf("attempt %d: %d %q close=%v", i, resp.StatusCode, b, resp.Close)
		}
	}
}

// TestH1RawPipelining writes three requests at once, then a fourth in
// slow pieces, on one socket.
func TestH1RawPipelining(t *testing.T) {
	addr := startH1Server(t, nil, nil)
	nc := dialH1(t, addr, 10*time.Second)
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	for _, want := range []string{"hello, world!\n", "hello", "abc"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("%d %q, want %q", resp.StatusCode, b, want)
		}
	}
	slow := "PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
	for i := 0; i < len(slow); i += 7 {
		io.WriteString(nc, slow[i:min(i+7, len(slow))])
		time.Sleep(2 * time.Millisecond)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if line, _ = br.ReadString('\n'); line != "\r\n" {
		t.Fatalf("after 100: %q", line)
	}
	io.WriteString(nc, "da")
	time.Sleep(5 * time.Millisecond)
	io.WriteString(nc, "ta")
	rest, err := io.ReadAll(br) // Connection: close: the server closes
	if err != nil {
		t.Fatal(err)
	}
	if want := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndata"; withoutDate(string(rest)) != want {
		t.Fatalf("got %q, want %q", rest, want)
	}
}

func TestH1Curl(t *testing.T) {
	curl := testutil.Tool(t, "curl")
	addr := startH1Server(t, nil, nil)
	base := "http://" + addr
	// Two URLs in one run share the connection.
	cmd := exec.Command(curl, "-sS", "-v", "--http1.1", "-w", "|%{http_version} %{http_code}\n", base+"/", base+"/proto")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.Bytes())
	}
	if string(out) != "hello, world!\n|1.1 200\nHTTP/1.1 http GET|1.1 200\n" {
		t.Fatalf("curl --http1.1: %q", out)
	}
	if !strings.Contains(stderr.String(), "Re-using existing connection") {
		t.Fatalf("curl did not reuse the connection:\n%s", stderr.Bytes())
	}
	out, err = exec.Command(curl, "-sS", "--http1.1", "--data-binary", "ping-pong", base+"/echo").CombinedOutput()
	if err != nil || string(out) != "ping-pong" {
		t.Fatalf("curl POST: %v %q", err, out)
	}
	out, err = exec.Command(curl, "-sS", "--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunks", base+"/echo").CombinedOutput()
	if err != nil || string(out) != "chunks" {
		t.Fatalf("curl chunked POST: %v %q", err, out)
	}
	out, err = exec.Command(curl, "-sS", "--http1.1", "-I", base+"/").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 200 OK\r\n") || !strings.Contains(string(out), "Content-Length: 14\r\n") {
		t.Fatalf("curl HEAD: %v %q", err, out)
	}
}

func TestH2CUpgradeCurl(t *testing.T) {
	curl := testutil.Tool(t, "curl")
	addr := startH1Server(t, nil, nil)
	base := "http://" + addr
	// curl --http2 on an http:// URL sends HTTP/1.1 with "Upgrade: h2c";
	// the request is answered over HTTP/2 as stream 1, and the next one
	// on the same connection too.
	cmd := exec.Command(curl, "-sS", "-v", "--http2", "-w", "|%{http_version} %{http_code}\n", base+"/proto", base+"/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.Bytes())
	}
	if string(out) != "HTTP/2.0 http GET|2 200\nhello, world!\n|2 200\n" {
		t.Fatalf("curl --http2: %q\n%s", out, stderr.Bytes())
	}
	for _, want := range []string{"< HTTP/1.1 101 Switching Protocols", "< HTTP/2 200", "Re-using existing connection"} {
		if !strings.Contains(stderr.String(), want) {
			t.Fatalf("curl -v does not report %q:\n%s", want, stderr.Bytes())
		}
	}
}

// selfSigned returns a TLS certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) { return testutil.SelfSigned(t) }

func TestH1TLSFallback(t *testing.T) {
	cert, pool := selfSigned(t)
	addr := startH1Server(t, &tls.Config{Certificates: []tls.Certificate{cert}}, nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	base := "https://" + addr
	got, _, resp := h1Get(t, c, "GET", base+"/proto", nil)
	if got != "HTTP/1.1 https GET" || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "http/1.1" {
		t.Fatalf("%q, TLS %+v", got, resp.TLS)
	}
	got, reused, _ := h1Get(t, c, "POST", base+"/echo", strings.NewReader("over tls"))
	if got != "over tls" || !reused {
		t.Fatalf("POST: %q reused=%v", got, reused)
	}

	// A client that offers no ALPN at all gets HTTP/1.1; an h2c upgrade
	// request over TLS is served as HTTP/1.1.
	nc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, "GET /proto HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "HTTP/1.1 https GET" {
		t.Fatalf("no-ALPN client: %d %q", resp.StatusCode, b)
	}
}

// withoutDate removes the Date field of an HTTP/1.1 response head, for
// comparisons with an exact expected response.
func withoutDate(resp string) string {
	i := strings.Index(resp, "\r\nDate: ")
	if i < 0 {
		return resp
	}
	j := strings.Index(resp[i+2:], "\r\n")
	return resp[:i] + resp[i+2+j:]
}

// firstHeldHandler serves GET /first with "first" (its length declared,
// flushed: the response is complete) and then holds its handler until
// release is closed; other paths as h1Handler.
func firstHeldHandler(release <-chan struct{}) h2loop.Handler {
	return h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		if ctx.Path() != "/first" {
			h1Handler(ctx)
			return
		}
		ctx.SetHeader("content-length", "5")
		ctx.WriteString("first")
		ctx.Flush()
		<-release // the response is out; the handler has not returned
	})
}

// TestH1InputWhileHandlerEnds: a keep-alive client sends its next request,
// with a body far above MaxBufferedInput, as soon as the response before it
// is complete, while that response's handler has not returned yet. The
// server stops reading (the rest waits in the socket, and the client's
// writes block) instead of closing the connection as a flood, and answers
// the request once the handler returns. Go's client got "use of closed
// network connection" for such a request (TestNoBodyLimit, HTTP/1.1
// chunked) when the worker that wrote the response before it was slow to
// return on a loaded machine.
func TestH1InputWhileHandlerEnds(t *testing.T) {
	release := make(chan struct{})
	var srv *h2loop.Server
	addr := startH1Server(t, nil, func(s *h2loop.Server) {
		srv = s
		s.MaxBufferedInput = 256 << 10
		s.MaxRequestBodySize = -1
		s.Handler = firstHeldHandler(release)
	})
	nc := dialH1(t, addr, 20*time.Second)
	br := bufio.NewReader(nc)
	io.WriteString(nc, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The handler declared its length and flushed: Content-Length, not
	// chunked, so the response is complete before the handler returns.
	if resp.ContentLength != 5 || len(resp.TransferEncoding) != 0 {
		t.Fatalf("first response: Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "first" {
		t.Fatalf("first response %q", b)
	}
	const size = 8 << 20
	var sent atomic.Int64
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(nc, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for n := 0; n < size && err == nil; n += len(chunk) {
			_, err = nc.Write(chunk)
			sent.Add(int64(len(chunk)))
		}
		werr <- err
	}()
	// Until the server has read well past MaxBufferedInput (or its
	// reading stopped and the client's writes block).
	for last, i := int64(-1), 0; i < 200; i++ {
		time.Sleep(10 * time.Millisecond)
		n := sent.Load()
		if n >= size || n == last && n > 1<<20 {
			break
		}
		last = n
	}
	close(release)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("second request (%d body bytes sent): %v (FloodErrors %d)", sent.Load(), err, srv.Metrics().FloodErrors.Load())
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != 200 || n != size {
		t.Fatalf("second response: %d, %d of %d bytes, %v", resp.StatusCode, n, size, err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if f := srv.Metrics().FloodErrors.Load(); f != 0 {
		t.Fatalf("FloodErrors %d", f)
	}
}

// TestH1InputPausedOutputBlocked: the client sends its next request, with
// a large body, while it does not read the large response before it: the
// server stops reading while the handler writes, its output still reaches
// the client once the client reads, and the next request is answered.
func TestH1InputPausedOutputBlocked(t *testing.T) {
	const size = 8 << 20
	addr := startH1Server(t, nil, func(s *h2loop.Server) {
		s.MaxBufferedInput = 256 << 10
		s.MaxRequestBodySize = -1
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if ctx.Path() != "/big" {
				h1Handler(ctx)
				return
			}
			ctx.SetHeader("content-length", strconv.Itoa(size))
			chunk := bytes.Repeat([]byte("z"), 64<<10)
			for n := 0; n < size; n += len(chunk) {
				ctx.Write(chunk)
				if ctx.Flush() != nil {
					return
				}
			}
		})
	})
	nc := dialH1(t, addr, 20*time.Second)
	werr := make(chan error, 1)
	go func() {
		_, err := io.WriteString(nc, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"+
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for n := 0; n < size && err == nil; n += len(chunk) {
			_, err = nc.Write(chunk)
		}
		werr <- err
	}()
	time.Sleep(300 * time.Millisecond) // the server's output backs up meanwhile
	br := bufio.NewReader(nc)
	for _, want := range []byte("zy") {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %q: %v", want, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || len(b) != size || b[0] != want || b[size-1] != want {
			t.Fatalf("response %q: %d, %d of %d bytes, %v", want, resp.StatusCode, len(b), size, err)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// TestH1InputPausedThenFIN: the client sends its next request and shuts
// its side down while the handler before it runs; the server, which
// stopped reading, still reads and answers it, then closes.
func TestH1InputPausedThenFIN(t *testing.T) {
	release := make(chan struct{})
	addr := startH1Server(t, nil, func(s *h2loop.Server) {
		s.MaxBufferedInput = 64 << 10
		s.Handler = firstHeldHandler(release)
	})
	nc := dialH1(t, addr, 20*time.Second)
	const size = 300 << 10 // above the pause, within the socket buffers
	req := "GET /first HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + strings.Repeat("y", size)
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).CloseWrite()
	time.Sleep(100 * time.Millisecond)
	close(release)
	rest, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bytes.NewReader(rest))
	for _, want := range []int{5, size} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response of %d bytes: %v (%d bytes read in all)", want, err, len(rest))
		}
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || len(b) != want {
			t.Fatalf("response: %d, %d bytes, want %d", resp.StatusCode, len(b), want)
		}
	}
}
