//go:build linux

package h2loop_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// sysConn is a client socket made with system calls, so that the client
// side of many connections takes no Go heap and no goroutine: what the
// process gains per connection is the server's.
type sysConn int

func dialRawFD(t *testing.T, addr string) sysConn {
	t.Helper()
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	tv := syscall.Timeval{Sec: 10}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	return sysConn(fd)
}

// exchange sends req and reads until the response ends with tail.
func (c sysConn) exchange(t *testing.T, req, tail string) {
	t.Helper()
	if _, err := syscall.Write(int(c), []byte(req)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	var buf [512]byte
	for !bytes.HasSuffix(got, []byte(tail)) {
		n, err := syscall.Read(int(c), buf[:])
		if n <= 0 {
			t.Fatalf("read: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) {
		t.Fatalf("response %q", got)
	}
}

// TestH1IdleConnsOnReactor: HTTP/1.1 keep-alive connections on the fd
// reactor stay on the poller between requests. Idle ones cost no
// goroutine, and a bounded heap each.
func TestH1IdleConnsOnReactor(t *testing.T) {
	const n = 500 // twice: the heap is compared between n and 2n connections
	addr, _, g0, _ := baselineWith(t, &logBuffer{}, func(s *h2loop.Server) { s.Reactor = "fd" })
	conns := make([]sysConn, 0, 2*n)
	defer func() {
		for _, c := range conns {
			syscall.Close(int(c))
		}
	}()
	open := func() {
		for i := 0; i < n; i++ {
			c := dialRawFD(t, addr)
			conns = append(conns, c)
			// One request each: the connection picked HTTP/1.1 and is
			// idle between requests now.
			c.exchange(t, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: idle-test\r\n\r\n", "hello, world!\n")
		}
	}
	open()
	time.Sleep(1500 * time.Millisecond) // the baseline's connections finish their lingering close
	ha := settledHeap()
	open()
	hb := settledHeap()
	time.Sleep(200 * time.Millisecond) // the worker that served them retires (WorkerIdleTimeout)
	g1, stacks := liveGoroutines()
	perConn := (int64(hb) - int64(ha)) / n
	t.Logf("%d idle HTTP/1.1 connections: %+d goroutines, %d bytes of heap each", 2*n, g1-g0, perConn)
	// Slack for the runtime's and netpoll's own (a hang-up goroutine, the
	// ticker); one per connection would be 2n.
	if g1-g0 > 10 {
		t.Fatalf("%d idle connections added %d goroutines, want none per connection\n%s", 2*n, g1-g0, stacks)
	}
	// An idle connection holds its fdConn, netpoll operator, h1conn (with
	// the protocol's state) and registry entries, and no buffer: about
	// 1.5 KB measured.
	if perConn > 2560 {
		t.Fatalf("%d bytes of heap per idle HTTP/1.1 connection, want at most 2560", perConn)
	}
	// They still serve.
	for _, c := range conns[:5] {
		c.exchange(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "hello, world!\n")
	}
}

// TestH1FDSlowReader: a response far above MaxBufferedOutput, to a client
// that starts reading late and reads slowly, arrives whole: the worker
// writing it waits for the socket instead of piling it up.
func TestH1FDSlowReader(t *testing.T) {
	const size = 8 << 20
	addr, _ := startServer(t, func(s *h2loop.Server) { s.Reactor = "fd" })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetReadBuffer(16 << 10)
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(nc, "GET /bytes/"+strconv.Itoa(size)+" HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the socket buffers fill up
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	buf := make([]byte, 64<<10)
	for {
		k, err := resp.Body.Read(buf)
		for i := 0; i < k; i++ {
			if buf[i] != 'a'+byte((n+i)%26) {
				t.Fatalf("byte %d is %q", n+i, buf[i])
			}
		}
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		if n < 1<<20 {
			time.Sleep(time.Millisecond) // slowly, at first
		}
	}
	if n != size {
		t.Fatalf("%d bytes, want %d", n, size)
	}
	// The pipelined request behind it is answered on the same connection.
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hello, world!\n" {
		t.Fatalf("second response %q", b)
	}
}

// TestH1FDOverload: on the fd reactor HTTP/1.1 handlers run on the
// workers; with every worker busy and no room to wait, a request is
// answered 503 and its connection closed, counted in Overloaded.
func TestH1FDOverload(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.Reactor = "fd"
		s.MaxWorkers = 1
		s.QueueSize = 1
		s.QueueTimeout = 100 * time.Millisecond
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			started <- struct{}{}
			<-release
			ctx.WriteString("done\n")
		})
	})
	get := func() (*http.Response, error) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { nc.Close() })
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		return http.ReadResponse(bufio.NewReader(nc), nil)
	}
	first := make(chan *http.Response, 1)
	go func() {
		resp, err := get()
		if err != nil {
			t.Error(err)
		}
		first <- resp
	}()
	<-started // the one worker is busy
	resp, err := get()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !resp.Close || string(b) != "no worker free\n" {
		t.Fatalf("%d close=%v %q, want 503 and close", resp.StatusCode, resp.Close, b)
	}
	if srv.Metrics().Overloaded.Load() == 0 {
		t.Fatal("not counted in Overloaded")
	}
	close(release)
	if r := <-first; r == nil || r.StatusCode != 200 {
		t.Fatalf("first request: %v", r)
	}
}

// TestH1FDPipelineWaits: requests pipelined behind one whose handler runs
// wait: the server keeps up to a bounded part of them and stops reading
// (the rest waits in the socket, the client's writes block), as net/http
// reads nothing more before the handler returns. No flood is counted, and
// once the handler returns every request is answered, in order.
func TestH1FDPipelineWaits(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.Reactor = "fd"
		s.MaxBufferedInput = 64 << 10
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			select {
			case started <- struct{}{}:
				<-release
			default:
			}
			ctx.WriteString(ctx.Path())
		})
	})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(nc, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	const n = 40000 // 1.3 MB of requests, twenty times MaxBufferedInput
	var reqs bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&reqs, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	werr := make(chan error, 1)
	go func() { _, err := nc.Write(reqs.Bytes()); werr <- err }()
	time.Sleep(200 * time.Millisecond)
	if f := srv.Metrics().FloodErrors.Load(); f != 0 {
		t.Fatalf("FloodErrors %d", f)
	}
	close(release)
	br := bufio.NewReader(nc)
	for i := -1; i < n; i++ {
		want := "/first"
		if i >= 0 {
			want = "/" + strconv.Itoa(i)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v; metrics %v", i+1, err, srv.Metrics().Snapshot())
		}
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("response %d: %d %q, want %q", i+1, resp.StatusCode, b, want)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// TestH1FDResetCancels: a client that resets its connection (no FIN)
// while its handler runs on a worker: the request is canceled, the
// handler does not run to its end.
func TestH1FDResetCancels(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, _ := startServer(t, func(s *h2loop.Server) { s.Reactor = "fd"; s.Handler = h })
	for i := 0; i < 3; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
		waitFor(t, "the /slow handler", func() bool { return h.live.Load() == 1 })
		nc.(*net.TCPConn).SetLinger(0)
		nc.Close()
		waitFor(t, "the handler to see its client gone", func() bool { return h.live.Load() == 0 })
	}
	if n := h.late.Load(); n != 0 {
		t.Fatalf("%d handlers ran to their end", n)
	}
}

// TestH1FDInline: with InlineHandlers, HTTP/1.1 handlers run on the poller;
// keep-alive, pipelining and Connection: close behave as on the workers,
// and every request context is released once (the pool would hand a
// released one out twice).
func TestH1FDInline(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) { s.Reactor = "fd"; s.InlineHandlers = true })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	const pipelined = 20
	req := strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", pipelined-1) + "GET /bytes/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	for i := 0; i < pipelined; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		want := "hello, world!\n"
		if i == pipelined-1 {
			want = "abc"
		}
		if string(b) != want {
			t.Fatalf("response %d: %q", i, b)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after Connection: close: %v, want EOF", err)
	}
	// Many connections at once, each several requests: a request context
	// released twice would be served to two requests at once.
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Transport: &http.Transport{}}
			defer cl.CloseIdleConnections()
			for i := 0; i < 50; i++ {
				resp, err := cl.Get("http://" + addr + "/bytes/100")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if len(b) != 100 {
					t.Errorf("%d bytes", len(b))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestH1FDPipelined: many pipelined requests with bodies (Content-Length
// and chunked), written in uneven pieces, are answered in order on the fd
// reactor; the worker that ends one request serves those queued behind
// it.
func TestH1FDPipelined(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) { s.Reactor = "fd" })
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	var in bytes.Buffer
	var want []string
	for i := 0; i < 60; i++ {
		body := strings.Repeat(string(rune('a'+i%26)), 1+i*37%500)
		switch i % 4 {
		case 0:
			in.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		case 1:
			in.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n")
		case 2:
			in.WriteString("GET /bytes/" + strconv.Itoa(len(body)) + " HTTP/1.1\r\nHost: x\r\n\r\n")
			b := []byte(body)
			for j := range b {
				b[j] = 'a' + byte(j%26)
			}
			body = string(b)
		case 3:
			in.WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			body = "hello, world!\n"
		}
		want = append(want, body)
	}
	go func() {
		b := in.Bytes()
		for i := 0; len(b) > 0; i++ {
			n := min(len(b), 1+i*7919%3000)
			if _, err := nc.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
			if i%5 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	br := bufio.NewReader(nc)
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != w {
			t.Fatalf("response %d: %d %q, want %q", i, resp.StatusCode, b, w)
		}
	}
}
