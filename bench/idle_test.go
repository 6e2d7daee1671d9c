//go:build !race

// The race detector doubles the heap of every object it watches, so the
// bound below holds only without it (go test ./..., which CI runs).

package bench

import (
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
	const n = 2000
	const limit = 7250 // bytes per connection, both sides (7.9 KB when netpoll kept a buffer node each way)
	s := startH2loop(t, false)
	defer s.stop()
	warm, err := h2c.OpenIdle(s.addr, "/", 8, 8, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.CloseAll(warm)
	before := liveHeap()
	conns, err := h2c.OpenIdle(s.addr, "/", n, 32, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.CloseAll(conns)
	time.Sleep(200 * time.Millisecond) // the server finishes with the last ones
	per := (int64(liveHeap()) - int64(before)) / n
	t.Logf("live heap per idle connection (server and client): %d bytes", per)
	if per > limit {
		t.Fatalf("%d bytes of live heap per idle connection, limit %d", per, limit)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // and the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSilentConnHeap bounds the live heap of connections that were accepted
// and have sent nothing yet: they hold no read buffer either (netpoll's
// first one is handed back at once), so connecting costs an attacker as
// much as it costs the server, until SettingsTimeout closes them.
func TestSilentConnHeap(t *testing.T) {
	const n = 2000
	const limit = 5 << 10 // bytes per connection, both sides (19.6 KB when netpoll's first read buffer stays)
	s := startH2loop(t, false)
	defer s.stop()
	warm, err := h2c.OpenIdle(s.addr, "/", 8, 8, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.CloseAll(warm)
	before := liveHeap()
	conns := make([]net.Conn, 0, n)
	defer func() { h2c.CloseAll(conns) }()
	for range n {
		nc, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	time.Sleep(200 * time.Millisecond) // the server accepts the last ones
	per := (int64(liveHeap()) - int64(before)) / n
	t.Logf("live heap per silent connection (server and client): %d bytes", per)
	if per > limit {
		t.Fatalf("%d bytes of live heap per silent connection, limit %d", per, limit)
	}
}
