package h2loop_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// slowPatience is how long a /slow handler waits for its client to go
// away before it counts as late: 10 s, 30 s under the race detector, which
// slows the server that processes 73,000 streams' worth of closes several
// times over.
var slowPatience = map[bool]time.Duration{false: 10 * time.Second, true: 30 * time.Second}[raceDetector]

// slowHandler serves /slow (waits for its client to go away, or slowPatience),
// /block (waits until release is closed), /drain (reads the whole body and
// answers its length) and anything else with "ok". live counts handlers
// running; late counts /slow handlers that ran on for more than a second
// after their client was gone.
type slowHandler struct {
	live    atomic.Int64
	late    atomic.Int64
	release chan struct{}
}

func (h *slowHandler) Serve(ctx *h2loop.RequestCtx) {
	h.live.Add(1)
	defer h.live.Add(-1)
	switch ctx.Path() {
	case "/slow":
		select {
		case <-ctx.Done():
		case <-time.After(slowPatience):
			h.late.Add(1)
		}
	case "/block":
		<-h.release
	case "/drain":
		n, err := io.Copy(io.Discard, ctx)
		if err != nil {
			ctx.SetStatus(500)
		}
		ctx.SetBodyRaw(fmt.Appendf(ctx.BodyBuffer(), "%d", n))
	default:
		helloHandler(ctx)
	}
}

// Many clients open slow streams on many connections and vanish at once
// (the crash of the liveness issue: "close of closed channel" in the
// cancellation, reached from netpoll's close callback, took the process
// down in 2 runs of 3). The process lives, every handler sees its client
// gone within a second, goroutines and heap return to their baseline, and
// Shutdown returns within its context.
func TestVanishingClients(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	var logs logBuffer
	warmProcess.Do(func() { warmUp(t) })
	addr, srv, done := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h
		s.ErrorLog = log.New(&logs, "", 0)
		s.WorkerIdleTimeout = 100 * time.Millisecond // the attack's workers retire in time for afterAttack
	})
	if err := helloOK(addr); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	g0, _ := liveGoroutines()
	h0 := settledHeap()

	const clients, connsPerClient, streams = 16, 24, 64 // 3 rounds: 1,152 connections, 73,728 streams
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < connsPerClient; k++ {
					nc, err := net.Dial("tcp", addr)
					if err != nil {
						t.Error(err)
						return
					}
					b := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
					enc := newRawEncoder()
					for id := uint32(1); id < 2*streams; id += 2 {
						b = append(b, enc.get(id, "/slow")...)
						if id%8 == 1 {
							// Some streams are reset by the client
							// before it vanishes.
							b = codec.AppendRSTStream(b, id, codec.ErrCodeCancel)
						}
					}
					nc.Write(b)
					time.Sleep(time.Duration(k%3) * 5 * time.Millisecond)
					nc.Close()
				}
			}()
		}
		wg.Wait()
	}
	// Every handler sees its client gone (within a second of the last
	// close: no handler outlives its client).
	waitFor(t, "every /slow handler to end", func() bool { return h.live.Load() == 0 })
	if n := h.late.Load(); n != 0 {
		t.Fatalf("%d handlers ran to their end with their client gone", n)
	}
	if err := helloOK(addr); err != nil {
		t.Fatalf("server after the clients vanished: %v", err)
	}
	// The streams reached their handlers (the test would prove nothing
	// if the connections closed before the server read them).
	started := srv.Metrics().Requests.Load()
	t.Logf("%d handlers started", started)
	if started < 3*clients*connsPerClient {
		t.Fatalf("%d handlers started, want at least one per connection", started)
	}
	if m := srv.Metrics(); m.Panics.Load() != 0 || m.HandlerPanics.Load() != 0 {
		t.Fatalf("panics: %v\n%s", m.Snapshot(), logs.String())
	}
	afterAttack(t, g0, h0)

	// Shutdown returns within its context even with a handler that never
	// returns on its own.
	go func() {
		rc := dialRaw(t, addr)
		rc.write(rc.get(1, "/block"))
		time.Sleep(5 * time.Second)
	}()
	waitFor(t, "the /block handler", func() bool { return h.live.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := srv.Shutdown(ctx)
	if err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v with a 500ms context", d)
	}
	wantServeClosed(t, done)
}

// rawEncoder encodes request header blocks for tests that write frames
// from several goroutines (rawConn needs a *testing.T).
type rawEncoder struct{ rc rawConn }

func newRawEncoder() *rawEncoder {
	e := &rawEncoder{}
	e.rc.enc = hpack.NewEncoder(&e.rc.encBuf)
	return e
}

func (e *rawEncoder) get(id uint32, path string) []byte { return e.rc.get(id, path) }

// A request never waits behind a handler that does not return while the
// worker limit allows another worker. Idle workers are left by a first
// burst; then one connection starts handlers that block and, behind them,
// quick requests. With a pool that counted one idle worker for several
// submissions, some quick requests queued behind the blocked handlers
// forever.
func TestNoRequestWaitsBehindBlockedHandler(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, _, _ := servedServer(t, func(s *h2loop.Server) { s.Handler = h })
	c := h2cClient()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ { // leaves idle workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := c.Get("http://" + addr + "/"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()

	for round := 0; round < 5; round++ {
		rc := dialRaw(t, addr)
		rc.handshake()
		var b []byte
		const blocked, quick = 40, 40
		id := uint32(1)
		for i := 0; i < blocked; i++ {
			b = append(b, rc.get(id, "/block")...)
			id += 2
		}
		first := id
		for i := 0; i < quick; i++ {
			b = append(b, rc.get(id, "/")...)
			id += 2
		}
		rc.write(b)
		answered := map[uint32]bool{}
		for len(answered) < quick {
			f, err := rc.read(5 * time.Second)
			if err != nil {
				t.Fatalf("round %d: %d of %d quick requests answered: %v", round, len(answered), quick, err)
			}
			if f.Type == codec.FrameHeaders && f.StreamID >= first {
				answered[f.StreamID] = true
			}
		}
		rc.nc.Close()
	}
}

// Full-duplex with the default settings: the client sends a message and
// waits for its answer before it sends the next (gRPC ping-pong, any chat
// over one stream). The handler starts with the headers and answers each
// message as it comes; before, it started only after 64 KiB of body or the
// end of it, and both sides waited for each other until the deadline.
func TestFullDuplexDefaultSettings(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			buf := make([]byte, 64)
			for {
				n, err := ctx.Read(buf)
				if n > 0 {
					ctx.Write(bytes.ToUpper(buf[:n]))
					if ctx.Flush() != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	})
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+"/chat", pr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := func(i int) string { return fmt.Sprintf("ping %03d;", i) }
	go pw.Write([]byte(msg(0))) // the response starts with the first answer
	resp, err := h2cClient().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("no answer to the first message: %v", err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 50; i++ {
		if i > 0 {
			if _, err := pw.Write([]byte(msg(i))); err != nil {
				t.Fatal(err)
			}
		}
		want := strings.ToUpper(msg(i))
		got := make([]byte, len(want))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != want {
			t.Fatalf("message %d: answer %q, %v; want %q", i, got, err, want)
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the last message: %q, %v", rest, err)
	}
}

// A request body of undeclared length that the handler reads as it
// arrives (a gRPC client stream, a long upload) is bounded by flow control,
// not by MaxRequestBodySize: with the default settings, 24 MiB pass. Before,
// the stream was reset with CANCEL at 8 MiB and nothing was logged.
func TestLongStreamPastBodyLimit(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, srv := startServer(t, func(s *h2loop.Server) { s.Handler = h })
	const total = 24 << 20
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/drain", pr)
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != fmt.Sprint(total) {
		t.Fatalf("status %d, body %q, %v", resp.StatusCode, body, err)
	}
	if n := srv.Metrics().BodyTooLarge.Load(); n != 0 {
		t.Fatalf("BodyTooLarge %d", n)
	}
}

// ctx.Body gathers a body whole, so it stops at MaxRequestBodySize: the
// client gets 413 (the response had not started), the limit is counted
// and logged.
func TestBodyLimitGathered(t *testing.T) {
	var logs logBuffer
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.MaxRequestBodySize = 100 << 10
		s.ErrorLog = log.New(&logs, "", 0)
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			b, err := ctx.Body()
			if err != nil {
				if err != h2loop.ErrBodyTooLarge {
					t.Errorf("Body: %v", err)
				}
				return
			}
			ctx.SetBodyRaw(fmt.Appendf(ctx.BodyBuffer(), "%d", len(b)))
		})
	})
	post := func(n int) (int, string) {
		// An undeclared length: the limit is found while gathering.
		req, _ := http.NewRequest("POST", "http://"+addr+"/", io.MultiReader(bytes.NewReader(make([]byte, n))))
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(50 << 10); code != 200 || body != fmt.Sprint(50<<10) {
		t.Fatalf("under the limit: %d %q", code, body)
	}
	if code, _ := post(300 << 10); code != 413 {
		t.Fatalf("over the limit: status %d, want 413", code)
	}
	if n := srv.Metrics().BodyTooLarge.Load(); n != 1 {
		t.Fatalf("BodyTooLarge %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "request body above MaxRequestBodySize") {
		t.Fatalf("no log line: %q", logs.String())
	}
}

// HTTP/1.1: a client that disconnects cancels its request, as over HTTP/2
// and as net/http does: ctx.Done closes while the handler runs. Before, the
// handler ran to its end (10 s here).
func TestH1DisconnectCancels(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, _ := startServer(t, func(s *h2loop.Server) { s.Handler = h })
	for i := 0; i < 3; i++ {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
		waitFor(t, "the /slow handler", func() bool { return h.live.Load() == 1 })
		nc.Close()
		start := time.Now()
		waitFor(t, "the handler to see its client gone", func() bool { return h.live.Load() == 0 })
		if d := time.Since(start); d > time.Second {
			t.Fatalf("handler ended %v after its client", d)
		}
	}
	if n := h.late.Load(); n != 0 {
		t.Fatalf("%d handlers ran to their end", n)
	}
}

// The same over TLS (the standard-library path, where the handler runs on
// the goroutine that reads the socket): the socket is watched while the
// handler runs, and a pipelined request read meanwhile is still served.
func TestH1DisconnectCancelsTLS(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, pool := startTLSServer(t, h, nil)
	dial := func() *tls.Conn {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := 0; i < 3; i++ {
		c := dial()
		c.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
		waitFor(t, "the /slow handler", func() bool { return h.live.Load() == 1 })
		c.Close()
		start := time.Now()
		waitFor(t, "the handler to see its client gone", func() bool { return h.live.Load() == 0 })
		if d := time.Since(start); d > time.Second {
			t.Fatalf("handler ended %v after its client", d)
		}
	}
	// Pipelined: the second request arrives while the first one's handler
	// runs; both are answered, in order.
	c := dial()
	defer c.Close()
	c.Write([]byte("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"))
	waitFor(t, "the /block handler", func() bool { return h.live.Load() == 1 })
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	time.Sleep(50 * time.Millisecond)
	h.release <- struct{}{}
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("response %d: %d", i, resp.StatusCode)
		}
	}
	if n := h.late.Load(); n != 0 {
		t.Fatalf("%d handlers ran to their end", n)
	}
}

// A handler panic is logged with its stack and counted even without an
// ErrorLog (to the standard logger, as net/http does); the stream is reset
// and the server goes on.
func TestHandlerPanicLoggedByDefault(t *testing.T) {
	var out logBuffer
	log.SetOutput(&out)
	defer log.SetOutput(os.Stderr)
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if ctx.Path() == "/panic" {
				panic("boom")
			}
			helloHandler(ctx)
		})
	})
	if _, err := h2cClient().Get("http://" + addr + "/panic"); err == nil {
		t.Fatal("a panicking handler's stream was not reset")
	}
	if err := helloOK(addr); err != nil {
		t.Fatal(err)
	}
	if n := srv.Metrics().HandlerPanics.Load(); n != 1 {
		t.Fatalf("HandlerPanics %d", n)
	}
	if s := out.String(); !strings.Contains(s, "panic serving") || !strings.Contains(s, "boom") || !strings.Contains(s, "liveness_test.go") {
		t.Fatalf("log: %q", s)
	}
}

// Receive-side flow control cannot starve a running handler: 100 handlers
// on one connection hold full stream windows of body they do not read,
// far more than the connection window, and one more handler still reads
// its whole 4 MiB body. Before, unread bytes held connection window credit
// until read: the 100 used it up and the reader waited forever.
func TestUnreadBodiesDoNotStarveReader(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h
		s.InitialStreamWindow = 65535
	})
	defer close(h.release)
	c := h2cClient() // one connection for every request
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < 100; i++ {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/block", bytes.NewReader(make([]byte, 64<<10)))
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, "100 blocked handlers", func() bool { return h.live.Load() == 100 })
	time.Sleep(200 * time.Millisecond) // their bodies arrive and stay unread

	const total = 4 << 20
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	req, _ := http.NewRequestWithContext(rctx, "POST", "http://"+addr+"/drain", io.MultiReader(bytes.NewReader(make([]byte, total))))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("the reader: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != fmt.Sprint(total) {
		t.Fatalf("the reader: %q, %v", body, err)
	}
}

// At MaxWorkers, a request waits in the queue for QueueTimeout and is then
// refused with RST_STREAM(REFUSED_STREAM) (nothing was processed: the
// client may retry); with the queue full it is refused at once. Both are
// counted and logged, and the reading goroutine never waits: the
// connection keeps answering PINGs meanwhile.
func TestOverloadRefused(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	var logs logBuffer
	addr, srv, _ := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h
		s.MaxWorkers = 1
		s.QueueSize = 1
		s.QueueTimeout = 300 * time.Millisecond
		s.ErrorLog = log.New(&logs, "", 0)
	})
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/block"))
	waitFor(t, "the blocked handler", func() bool { return h.live.Load() == 1 })
	start := time.Now()
	b := append(rc.get(3, "/"), rc.get(5, "/")...)              // 3 queued, 5 finds the queue full
	b = codec.AppendPing(b, false, [8]byte{'l', 'i', 'v', 'e'}) // answered at once
	rc.write(b)
	refused := map[uint32]time.Duration{}
	pinged := false
	for len(refused) < 2 || !pinged {
		f, err := rc.read(5 * time.Second)
		if err != nil {
			t.Fatalf("refused %v, pinged %v: %v", refused, pinged, err)
		}
		switch f.Type {
		case codec.FramePing:
			pinged = true
		case codec.FrameRSTStream:
			code, _ := codec.ParseRSTStream(f.FrameHeader, f.p)
			if code != codec.ErrCodeRefusedStream {
				t.Fatalf("RST_STREAM(%d, %v), want REFUSED_STREAM", f.StreamID, code)
			}
			refused[f.StreamID] = time.Since(start)
		case codec.FrameHeaders:
			t.Fatalf("stream %d answered %s", f.StreamID, rc.status(f))
		}
	}
	if d := refused[5]; d > 250*time.Millisecond {
		t.Fatalf("the request that found the queue full was refused after %v", d)
	}
	if d := refused[3]; d < 250*time.Millisecond {
		t.Fatalf("the queued request was refused after %v, before QueueTimeout", d)
	}
	if n := srv.Metrics().Overloaded.Load(); n != 2 {
		t.Fatalf("Overloaded %d, want 2", n)
	}
	if !strings.Contains(logs.String(), "request refused") {
		t.Fatalf("no log line: %q", logs.String())
	}
	// The connection goes on: the worker is free once the handler is.
	h.release <- struct{}{}
	rc.write(rc.get(7, "/"))
	for {
		f := rc.mustRead()
		if f.Type != codec.FrameHeaders {
			continue
		}
		s := rc.status(f) // every block, to keep the HPACK tables in step
		if f.StreamID == 7 {
			if s != "200" {
				t.Fatalf("after the overload: %s", s)
			}
			break
		}
	}
}

// The same with the 100 handlers not started at all: one worker runs the
// reader, and 100 requests with full stream windows of body wait in the
// pool's queue. Their bytes must not hold the connection window either.
func TestQueuedBodiesDoNotStarveReader(t *testing.T) {
	h := &slowHandler{release: make(chan struct{})}
	defer close(h.release)
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.Handler = h
		s.InitialStreamWindow = 65535
		s.MaxWorkers = 1
		s.QueueTimeout = 30 * time.Second
	})
	c := h2cClient()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const total = 4 << 20
	pr, pw := io.Pipe()
	defer pw.Close()
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/drain", pr)
		resp, err := c.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{string(b), err}
	}()
	pw.Write(make([]byte, 1024))
	waitFor(t, "the reader's handler", func() bool { return h.live.Load() == 1 })
	for i := 0; i < 100; i++ {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/", bytes.NewReader(make([]byte, 64<<10)))
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, "100 queued requests", func() bool { return srv.Metrics().Requests.Load() >= 101 })
	time.Sleep(200 * time.Millisecond) // their bodies arrive
	go func() {
		pw.Write(make([]byte, total-1024))
		pw.Close()
	}()
	select {
	case r := <-done:
		if r.err != nil || r.body != fmt.Sprint(total) {
			t.Fatalf("the reader: %q, %v", r.body, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the reader stalled behind the queued requests' bodies")
	}
}

// TestWorkerIdleTimeout: after a burst, idle workers exit once
// WorkerIdleTimeout has passed, giving their goroutines and stacks back.
func TestWorkerIdleTimeout(t *testing.T) {
	addr, _, _ := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			time.Sleep(20 * time.Millisecond) // the requests overlap: one worker each
			helloHandler(ctx)
		})
		s.WorkerIdleTimeout = 200 * time.Millisecond
	})
	workers := func() int { // the pool's worker goroutines, busy or idle
		_, stacks := liveGoroutines()
		return strings.Count(stacks, "/pool.(*Pool[...]).work(")
	}
	before := workers()
	c := h2cClient()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := c.Get("http://" + addr + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	peak := workers()
	if peak < before+10 {
		t.Fatalf("%d workers after 40 overlapping requests (%d before): the burst did not start workers", peak, before)
	}
	// Within a few WorkerIdleTimeouts, well before the 10 s default: what
	// remains are the reactor's own callback runners (a process-wide pool
	// with the default idle time), one or two for one connection.
	deadline := time.Now().Add(3 * time.Second)
	for workers() > before+4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers 3 s after the burst (%d before, %d at the peak), WorkerIdleTimeout 200 ms", workers(), before, peak)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("workers: %d before, %d after the burst, %d once idle past WorkerIdleTimeout", before, peak, workers())
}
