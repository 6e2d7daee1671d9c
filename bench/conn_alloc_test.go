//go:build !race

package bench

import (
	"net"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/bench/internal/hello"
	"github.com/h2loop/h2loop/internal/testutil"
)

// TestProcessAllocsPerConnFD bounds what a short HTTP/2 connection costs
// the whole process in allocations on the fd reactor, from accept to the
// end of its close: h2load (another process) opens n connections that
// make one GET each and go away, and runtime.MemStats.Mallocs is read
// before and after, once every connection is closed (lingering closes
// included). A warm-up round of the same size first takes the
// high-water marks (netpoll's operator cache and event arrays, the
// worker pool, sync.Pool's queues).
//
// What a connection must allocate is its state: the fdConn (its netpoll
// callbacks and the peer's address inline), the h2conn (engine and HPACK
// contexts inline), the two HPACK tables' rings and the client's literal
// strings (two of h2load's): 6. Measured 6.2–6.5 a round (the rest is
// the runtime's: the Date string each second, the poller's event
// arrays);
// 14.6–15.1 when every close took a timer, closures and goroutines, and
// the address and the callbacks were objects of their own. A timer, a closure or a
// goroutine per connection, per close or per accept wake-up shows as one
// more.
func TestProcessAllocsPerConnFD(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	t.Setenv("H2LOOP_REACTOR", "fd")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(hello.H2loop)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	defer func() {
		srv.Close()
		<-done
	}()
	addr := ln.Addr().String()
	const n = 400 // connections a round, one request each
	closed := func() {
		deadline := time.Now().Add(60 * time.Second)
		for srv.Gauges().OpenConns != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections still open 60 s after their client left", srv.Gauges().OpenConns)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	run := func() {
		out, err := exec.Command(h2load, "-n", strconv.Itoa(n), "-c", strconv.Itoa(n), "-m", "1", "http://"+addr+"/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), strconv.Itoa(n)+" succeeded, 0 failed") {
			t.Fatalf("h2load: %v\n%s", err, out)
		}
		closed()
	}
	run()
	run()
	// The collector is off while counting: a collection empties every
	// sync.Pool, and refilling them is the runtime's, not the
	// connections'.
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var best float64 = -1
	for range 3 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		run()
		runtime.ReadMemStats(&m1)
		per := float64(m1.Mallocs-m0.Mallocs) / n
		t.Logf("%d allocations for %d connections of one request: %.2f per connection", m1.Mallocs-m0.Mallocs, n, per)
		if best < 0 || per < best {
			best = per
		}
	}
	// 6.2–7.3 a round on a quiet machine. A connection that lingers (h2load
	// ends each with GOAWAY, which the server answers before its close)
	// and whose peer then goes away is closed on a goroutine of its own,
	// at once: on a loaded machine the runtime makes new goroutine
	// descriptors for those more often (8.2–9.7 a round in CI).
	const limit = 10.0
	if best > limit {
		t.Fatalf("%.2f allocations per connection for the whole process (best of 3 rounds), want at most %.1f", best, float64(limit))
	}
}
