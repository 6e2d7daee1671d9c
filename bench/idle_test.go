//go:build !race

// The race detector doubles the heap of every object it watches, so the
// bounds below hold only without it (go test ./..., which CI runs).

package bench

import (
	"math"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/h2loop/h2loop/bench/internal/h2c"
)

// TestIdleConnHeap bounds the live heap an idle HTTP/2 connection costs:
// connections that made one GET and went quiet keep no read or write
// buffer (netpoll's nodes go back to its cache, responses are written to
// the socket directly), only the connection state, HPACK tables included.
// The figure includes the client side of each connection (a net.Conn in
// this process, about 0.3 KB); the server alone is measured in PERF.md.
func TestIdleConnHeap(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "netpoll")
	const limit = 5800 // bytes per connection, both sides (measured 4.8 KB; 6.5-6.9 KB before the engine and HPACK state were compacted; 7.9 KB when netpoll kept a buffer node each way)
	heapPerConn(t, "idle", limit, func(addr string, n int) ([]net.Conn, error) {
		return h2c.OpenIdle(addr, "/", n, 32, 30*time.Second)
	})
}

// TestSilentConnHeap bounds the live heap of connections that were accepted
// and have sent nothing yet: they hold no read buffer either (netpoll's
// first one is handed back at once), so connecting costs an attacker as
// much as it costs the server, until SettingsTimeout closes them.
func TestSilentConnHeap(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "netpoll")
	const limit = 5 << 10 // bytes per connection, both sides (19.6 KB when netpoll's first read buffer stays)
	heapPerConn(t, "silent", limit, openSilent)
}

// TestIdleConnHeapFD is TestIdleConnHeap on the fd reactor (loop/fd.go):
// a connection is an fdConn and its netpoll operator, its peer's address,
// and one h2conn holding its engine and HPACK contexts inline, plus the
// HPACK decoder's entries (the encoder's first response indexes nothing);
// no netpoll.Connection (measured 1.47 KB, both sides, with h2conn in the
// 704-byte class; 1.64 KB in the 768-byte class with an encoder table;
// 1.81 KB in the 896-byte class; 1.93-1.95 KB while every
// connection held rings of the streams closed and reset last; 2.03 KB before the
// peer's address and the operator's callbacks moved into the fdConn;
// 2.8 KB before the engine, HPACK decoder and address were compacted;
// 6.3 KB on the netpoll.Connection path).
func TestIdleConnHeapFD(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "fd")
	const limit = 1700 // bytes per connection, both sides
	heapPerConn(t, "idle (fd reactor)", limit, func(addr string, n int) ([]net.Conn, error) {
		return h2c.OpenIdle(addr, "/", n, 32, 30*time.Second)
	})
}

// TestSilentConnHeapFD is TestSilentConnHeap on the fd reactor: a socket
// that has sent nothing is an fdConn and its operator (measured 0.65 KB,
// both sides).
func TestSilentConnHeapFD(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "fd")
	const limit = 1200 // bytes per connection, both sides
	heapPerConn(t, "silent (fd reactor)", limit, openSilent)
}

// heapPerConn starts h2loop, opens 2,000 connections with open and fails
// the test if the live heap grew by more than limit bytes per connection.
func heapPerConn(t *testing.T, kind string, limit int64, open func(addr string, n int) ([]net.Conn, error)) {
	const n = 2000
	s := startH2loop(t, false)
	defer s.stop()
	warm, err := h2c.OpenIdle(s.addr, "/", 8, 8, 10*time.Second) // pollers, workers, pools
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.CloseAll(warm)
	before := settledHeap()
	conns, err := open(s.addr, n)
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.CloseAll(conns)
	// The server may still be busy with the last connections (on a loaded
	// machine): the settled figure is the smallest of a few readings.
	per := int64(math.MaxInt64)
	for i := 0; i < 10 && (i < 2 || per > limit); i++ {
		time.Sleep(200 * time.Millisecond)
		per = min(per, (int64(liveHeap())-int64(before))/n)
	}
	t.Logf("live heap per %s connection (server and client): %d bytes", kind, per)
	if per > limit {
		t.Fatalf("%d bytes of live heap per %s connection, limit %d", per, kind, limit)
	}
	if per <= 0 {
		t.Fatalf("%d bytes of live heap per %s connection: the heap did not grow, the measurement is broken", per, kind)
	}
}

// settledHeap is the live heap once it stops shrinking: the server of an
// earlier test may still be freeing its connections (netpoll closes them
// asynchronously, and a lingering close waits for a tick of the Core's
// ticker after lingerTime), which would make the growth measured next too
// small, or negative. Settled means it did not shrink by 64 KiB over the
// last 2.2 s (11 readings 200 ms apart): longer than a tick plus
// lingerTime, so a close that waits for the next tick is not mistaken for
// a pause.
func settledHeap() uint64 {
	const window = 11
	hist := []uint64{liveHeap()}
	for range 75 {
		time.Sleep(200 * time.Millisecond)
		h := liveHeap()
		hist = append(hist, h)
		if n := len(hist); n > window && h+64<<10 > hist[n-1-window] {
			return h
		}
	}
	return hist[len(hist)-1]
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // and the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// openSilent opens n connections that send nothing.
func openSilent(addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			h2c.CloseAll(conns)
			return nil, err
		}
		conns = append(conns, nc)
	}
	return conns, nil
}
