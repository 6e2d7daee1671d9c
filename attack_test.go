package h2loop_test

import (
	"bytes"
	"errors"
	"io"
	"log"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// Attacks over a real socket: the attacked connection gets
// GOAWAY(ENHANCE_YOUR_CALM) and closes, other connections are served
// throughout, and goroutines and memory come back once it is gone.

// bystander keeps a Go client requesting on its own connection until stop is
// closed; it returns how many requests succeeded and the first error.
func bystander(addr string, stop chan struct{}) func() (int, error) {
	var ok atomic.Int64
	var first error
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := h2cClient()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := c.Get("http://" + addr + "/")
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != 200 || string(b) != "hello, world!\n") {
					err = errors.New("bad response " + resp.Status)
				}
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			ok.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()
	return func() (int, error) {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return int(ok.Load()), first
	}
}

// readGoAway reads until the server closes the connection and returns its
// GOAWAY, or nil when none arrived (a server that closes a socket with
// unread input makes the kernel reset the connection, which drops output
// still queued; see TestSocketGoAwayDelivered).
func readGoAway(t *testing.T, rc *rawConn) *codec.GoAwayFrame {
	t.Helper()
	var ga *codec.GoAwayFrame
	for {
		f, err := rc.read(30 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err) {
				return ga
			}
			t.Fatalf("the connection is not closed: %v", err)
		}
		if f.Type == codec.FrameGoAway {
			g := goAwayOf(t, f)
			g.DebugData = append([]byte(nil), g.DebugData...)
			ga = &g
		}
	}
}

// logBuffer collects the server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wantCalm checks the server's side of a flood answer: one flood error and
// one connection error counted, a log line, and, when the client got it, the
// GOAWAY(ENHANCE_YOUR_CALM) on the wire.
func wantCalm(t *testing.T, srv *h2loop.Server, logs *logBuffer, ga *codec.GoAwayFrame, reason string) {
	t.Helper()
	m := srv.Metrics()
	if m.FloodErrors.Load() != 1 || m.ConnErrors.Load() != 1 {
		t.Fatalf("metrics %v", m.Snapshot())
	}
	// A flood faster than the server processes it may cross
	// MaxBufferedInput first: the other defined answer.
	reasons := []string{reason, "too much unprocessed input"}
	l := logs.String()
	if !strings.Contains(l, "ENHANCE_YOUR_CALM: "+reasons[0]) && !strings.Contains(l, "ENHANCE_YOUR_CALM: "+reasons[1]) {
		t.Fatalf("no log line for the flood in %q", l)
	}
	if ga != nil && (ga.Code != codec.ErrCodeEnhanceYourCalm || string(ga.DebugData) != reasons[0] && string(ga.DebugData) != reasons[1]) {
		t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM %q", ga.Code, ga.DebugData, reason)
	}
}

// heapLive is the live heap (bytes in live objects) after a collection.
func heapLive() uint64 {
	runtime.GC()
	runtime.GC() // and the sync.Pool victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// baseline starts a server (its log going to logs), warms it up (netpoll's
// pollers, the worker pool) and returns it with the goroutine count and live
// heap at rest.
func baseline(t *testing.T, logs *logBuffer) (string, *h2loop.Server, int, uint64) {
	t.Helper()
	return baselineWith(t, logs, func(*h2loop.Server) {})
}

// baselineWith is baseline with a server that serves attackHandler,
// configured further by configure.
func baselineWith(t *testing.T, logs *logBuffer, configure func(*h2loop.Server)) (string, *h2loop.Server, int, uint64) {
	t.Helper()
	warmProcess.Do(func() { warmUp(t) })
	addr, srv, _ := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(attackHandler)
		s.ErrorLog = log.New(logs, "", 0)
		s.WorkerIdleTimeout = 100 * time.Millisecond // workers of the attack retire in time for afterAttack
		configure(s)
	})
	c := h2cClient()
	for i := 0; i < 10; i++ {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	c.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	g, _ := liveGoroutines()
	return addr, srv, g, settledHeap()
}

// settledHeap returns the live heap once it stops falling: connections of
// an earlier test may still be in their lingering close (up to a second),
// holding their buffers.
func settledHeap() uint64 {
	h := heapLive()
	for i := 0; i < 15; i++ {
		time.Sleep(100 * time.Millisecond)
		next := heapLive()
		if next+next/100 >= h {
			return min(h, next)
		}
		h = next
	}
	return h
}

// warmProcess makes the process's one-time allocations before the first
// baseline: the runtime's threads for a burst of concurrent connections and
// blocking writes, netpoll's pollers and caches, HPACK's Huffman tree, the
// Go client's tables. They stay for the life of the process, whatever the
// server does, and would otherwise count against the first attack.
var warmProcess sync.Once

func warmUp(t *testing.T) {
	// The runtime keeps the descriptor of every goroutine that ever ran
	// (some 400 bytes of heap each) for reuse: the first peak of
	// goroutines above the process's earlier ones raises the live heap for
	// good. Attacks here run a few thousand handlers at once; reach that
	// peak before any baseline.
	var gs sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 12000; i++ {
		gs.Add(1)
		go func() {
			defer gs.Done()
			<-release
		}()
	}
	close(release)
	gs.Wait()
	addr, srv, _ := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(attackHandler)
		s.ErrorLog = log.New(io.Discard, "", 0)
		s.WorkerIdleTimeout = 100 * time.Millisecond
	})
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := dialRaw(t, addr)
			defer rc.nc.Close()
			var b []byte
			for id := uint32(1); id < 2000; id += 2 {
				b = append(b, rc.get(id, "/bytes/1000")...)
				b = codec.AppendRSTStream(b, id, codec.ErrCodeCancel)
			}
			rc.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			rc.nc.Write(b)
			rc.read(time.Second)
		}()
	}
	wg.Wait()
	c := h2cClient()
	for i := 0; i < 10; i++ {
		if resp, err := c.Get("http://" + addr + "/"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	c.CloseIdleConnections()
	srv.Close()
	time.Sleep(300 * time.Millisecond) // its connections and idle workers wind down
}

// liveGoroutines counts goroutines other than idle worker-pool workers
// (which retire after the pool's idle period, 10 s or more) and returns the
// stacks of all of them.
func liveGoroutines() (int, string) {
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	n := 0
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "[chan receive") && strings.Contains(g, "/pool.(*Pool[...]).work(") {
			continue
		}
		n++
	}
	return n, stacks
}

// afterAttack checks that goroutines settle back (idle pool workers aside)
// and that the live heap comes back within 20 % of its baseline: the
// attack's buffers are released, not kept. The test's own client side
// lives in the same process (a raw connection keeps a 64 KiB read buffer
// until the test ends), and the runtime's own structures move by some
// 100 KiB on a loaded machine: 256 KiB more are allowed. A leak of the
// attack's connections or streams is megabytes.
func afterAttack(t *testing.T, g0 int, h0 uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, stacks := liveGoroutines()
		if g <= g0+4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the attack (idle pool workers aside), %d before\n%s", g, g0, stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if raceDetector {
		t.Log("live heap not checked under -race (the detector keeps per-goroutine state); the run without -race checks it")
		return
	}
	limit := h0 + h0/5 + 256<<10
	for {
		h := heapLive()
		if h <= limit {
			t.Logf("live heap %d KiB after the attack, %d KiB before", h>>10, h0>>10)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live heap %d KiB after the attack, %d KiB before (limit %d KiB)", h>>10, h0>>10, limit>>10)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// socketFlood runs a flood against a fresh server while a bystander
// connection keeps making requests: flood writes on a handshaken raw
// connection; the server must answer with GOAWAY(ENHANCE_YOUR_CALM) for
// reason (wantCalm), go on serving the bystander, and settle back to its
// goroutine and heap baseline. It returns the server and the number of
// requests the bystander was served.
func socketFlood(t *testing.T, reason string, flood func(rc *rawConn)) (*h2loop.Server, int) {
	t.Helper()
	return socketFloodSrv(t, reason, func(rc *rawConn, _ *h2loop.Server) { flood(rc) })
}

// socketFloodSrv is socketFlood for a flood that watches the server's
// counters.
func socketFloodSrv(t *testing.T, reason string, flood func(rc *rawConn, srv *h2loop.Server)) (*h2loop.Server, int) {
	t.Helper()
	var logs logBuffer
	addr, srv, g0, h0 := baseline(t, &logs)
	stop := make(chan struct{})
	wait := bystander(addr, stop)

	rc := dialRaw(t, addr)
	rc.handshake()
	flood(rc, srv)
	ga := readGoAway(t, rc)
	if ga == nil {
		t.Fatal("no GOAWAY reached the client")
	}
	wantCalm(t, srv, &logs, ga, reason)
	rc.nc.Close()

	close(stop)
	n, err := wait()
	if err != nil || n == 0 {
		t.Fatalf("bystander: %d requests, %v", n, err)
	}
	afterAttack(t, g0, h0)
	return srv, n
}

// TestSocketRapidReset: 10,000 streams opened and reset at once
// (CVE-2023-44487), by a client that reads what comes back.
func TestSocketRapidReset(t *testing.T) {
	srv, n := socketFlood(t, "too many stream resets", func(rc *rawConn) {
		var b []byte
		for id := uint32(1); id < 20000; id += 2 {
			b = append(b, rc.get(id, "/")...)
			b = codec.AppendRSTStream(b, id, codec.ErrCodeCancel)
		}
		go rc.nc.Write(b) // the server may close before it has read everything
	})
	// The burst of resets allowed is twice MaxResetsPerSecond (200): the
	// 401st reset ends the connection.
	if got, want := srv.Metrics().Requests.Load(), uint64(10+401+n); got != want {
		t.Fatalf("%d handlers started, want %d (10 warm-up, 401 attack, %d bystander)", got, want, n)
	}
	t.Logf("bystander served %d requests during the attack", n)
}

// pings returns n PING frames.
func pings(n int) []byte {
	b := make([]byte, 0, n*17)
	for i := 0; i < n; i++ {
		b = codec.AppendPing(b, false, [8]byte{byte(i), byte(i >> 8)})
	}
	return b
}

// TestSocketPingFlood: a client sends PING frames as fast as it can and never
// reads the ACKs.
func TestSocketPingFlood(t *testing.T) {
	socketFloodSrv(t, "too many queued control frames", floodPings)
}

// floodPings sends PINGs in batches of 4,000 and reads nothing, until the
// server counts the flood, at most 8M PINGs (136 MB) or 20 s. It stops as
// soon as the server has counted it: the server's lingering close drains
// input for a second only, and closing a socket with unread input resets
// the connection, taking the GOAWAY the client has not read yet with it.
// How many PINGs that takes depends on the socket buffers (their ACKs
// must back up into the server, megabytes on loopback) and not on time:
// a loaded machine that runs the client slowly makes the flood longer,
// not weaker.
func floodPings(rc *rawConn, srv *h2loop.Server) {
	t := rc.t
	chunk := pings(4000)
	var sent int
	var werr error
	start := time.Now()
	for i := 0; i < 2000 && werr == nil && time.Since(start) < 20*time.Second && srv.Metrics().FloodErrors.Load() == 0; i++ {
		rc.nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		if _, werr = rc.nc.Write(chunk); werr == nil {
			sent += 4000
		}
	}
	// The server answers with GOAWAY, shuts its write side and drains
	// the rest for a moment (a lingering close, so that the GOAWAY is
	// not lost to a reset).
	t.Logf("%d PINGs sent in %v (write error: %v)", sent, time.Since(start), werr)
}

// TestSocketPingFloodPaced: the same flood paced so that each read batch is
// answered before the next arrives: the server's writes fill the socket
// buffers of a client that never reads, and block, while the reactor keeps
// reading. A GOAWAY cannot reach a client that does not read, so the defined
// answer is: the unprocessed input stays under MaxBufferedInput, then the
// connection is closed, with a counter and a log line, in bounded memory.
func TestSocketPingFloodPaced(t *testing.T) {
	var logs logBuffer
	addr, srv, _, h0 := baseline(t, &logs)
	rc := dialRaw(t, addr)
	rc.handshake()
	chunk := pings(1000)
	var werr error
	var peak uint64
	start := time.Now()
	for i := 0; time.Since(start) < 10*time.Second && werr == nil; i++ {
		rc.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, werr = rc.nc.Write(chunk)
		time.Sleep(500 * time.Microsecond)
		if i%500 != 0 {
			continue
		}
		h := heapLive()
		if h > h0+16<<20 { // MaxBufferedInput is 2 MiB; a blocked write watches the input every 10 ms
			t.Fatalf("heap grew by %d MB under the flood", (h-h0)>>20)
		}
		peak = max(peak, h)
	}
	t.Logf("live heap at most %d KiB above its baseline during the flood", (peak-min(peak, h0))>>10)
	if werr == nil {
		t.Fatal("the flood went on for 10s")
	}
	if ga := readGoAway(t, rc); ga != nil && ga.Code != codec.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM or a closed connection", ga.Code)
	}
	if n := srv.Metrics().FloodErrors.Load(); n != 1 {
		t.Fatalf("FloodErrors %d, want 1", n)
	}
	if l := logs.String(); !strings.Contains(l, "unprocessed input") && !strings.Contains(l, "ENHANCE_YOUR_CALM") {
		t.Fatalf("no log line for the flood in %q", l)
	}
}

// TestSocketGoAwayDelivered: the GOAWAY that ends a flood reaches a client
// that stops sending and reads: the server does not reset the connection
// (closing a socket with unread input does) before its output is out.
func TestSocketGoAwayDelivered(t *testing.T) {
	var logs logBuffer
	addr, srv, _, _ := baseline(t, &logs)
	rc := dialRaw(t, addr)
	rc.handshake()
	floodPings(rc, srv)
	ga := readGoAway(t, rc)
	if ga == nil {
		t.Fatal("the GOAWAY was lost")
	}
	wantCalm(t, srv, &logs, ga, "too many queued control frames")
}

// TestSocketHPACKBomb: small header blocks that each refer to one large
// dynamic-table entry enough times to cross MaxHeaderListSize, sent as
// fast as the client can. Each is answered 431 until
// MaxRejectedHeaderSections, then GOAWAY(ENHANCE_YOUR_CALM); the reactor's
// unprocessed input is bounded on every pass. Before, the reactor read on
// (76 MB of unprocessed input against a 2 MiB limit, RSS +340 to +480 MB)
// while the engine decoded 5,300 blocks a second.
func TestSocketHPACKBomb(t *testing.T) {
	srv, _ := socketFlood(t, "too many header sections above MaxHeaderListSize", func(rc *rawConn) {
		big := strings.Repeat("b", 4000)
		kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "localhost"}
		for i := 0; i < 20; i++ {
			kv = append(kv, "x-bomb", big) // indexed once, then 1-byte references
		}
		var b []byte
		for id := uint32(1); id < 2*20000; id += 2 {
			b = append(b, rc.headers(id, true, kv...)...)
		}
		t.Logf("%d blocks in %d bytes, expanding to %d MB", 20000, len(b), 20000*20*4000>>20)
		go rc.nc.Write(b) // the server may close before it has read everything
	})
	if n := srv.Metrics().HeaderTooLarge.Load(); n < 32 || n > 40 {
		t.Fatalf("%d header sections answered 431, want about MaxRejectedHeaderSections (32)", n)
	}
}
