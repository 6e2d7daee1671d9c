//go:build !race

package bench

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/h2loop/h2loop/internal/testutil"
)

// TestProcessAllocsPerRequestFD counts the allocations of the whole
// process (runtime.MemStats.Mallocs: the reactor, netpoll, the engine,
// the worker pool, the handler) while h2load, another process, sends a
// batch of requests to h2loop on the fd reactor over 8 connections with
// 16 streams each. A warm-up batch first fills the pools and starts the
// workers. The batch must average under 0.01 allocations per request
// (measured 0.000x: what remains is the runtime's and the pools' own,
// after a collection empties sync.Pool).
func TestProcessAllocsPerRequestFD(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	t.Setenv("H2LOOP_REACTOR", "fd")
	s := startH2loop(t, false)
	defer s.stop()
	run := func(n int) {
		out, err := exec.Command(h2load, "-n", itoa(n), "-c", "8", "-m", "16", "http://"+s.addr+"/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "succeeded, 0 failed") && !strings.Contains(string(out), itoa(n)+" succeeded") {
			t.Fatalf("h2load: %v\n%s", err, out)
		}
	}
	run(20000)
	const n = 100000
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run(n)
	runtime.ReadMemStats(&m1)
	per := float64(m1.Mallocs-m0.Mallocs) / n
	t.Logf("%d allocations for %d requests: %.4f per request", m1.Mallocs-m0.Mallocs, n, per)
	if per > 0.01 {
		t.Fatalf("%.4f allocations per request for the whole process, want < 0.01", per)
	}
}

// TestProcessAllocsPerRequestFDH1 is TestProcessAllocsPerRequestFD for
// HTTP/1.1 keep-alive connections (h2load --h1, 8 connections), which the
// fd reactor serves on its pollers too.
func TestProcessAllocsPerRequestFDH1(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	t.Setenv("H2LOOP_REACTOR", "fd")
	s := startH2loop(t, false)
	defer s.stop()
	run := func(n int) {
		out, err := exec.Command(h2load, "--h1", "-n", itoa(n), "-c", "8", "http://"+s.addr+"/").CombinedOutput()
		if err != nil || !strings.Contains(string(out), itoa(n)+" succeeded") {
			t.Fatalf("h2load: %v\n%s", err, out)
		}
	}
	run(20000)
	const n = 50000
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run(n)
	runtime.ReadMemStats(&m1)
	per := float64(m1.Mallocs-m0.Mallocs) / n
	t.Logf("%d allocations for %d HTTP/1.1 requests: %.4f per request", m1.Mallocs-m0.Mallocs, n, per)
	if per > 0.01 {
		t.Fatalf("%.4f allocations per HTTP/1.1 request for the whole process, want < 0.01", per)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestProcessAllocsStaticBodyFD is TestProcessAllocsPerRequestFD for
// 1 MiB static bodies (h2load -c 4 -m 1, as the 1 MiB workload of
// bench/compare), which the fd reactor writes from the body's memory by
// reference, 64 DATA frames per response. One allocation per request is
// not the server's: x/net's HPACK decoder makes a string of every literal,
// and h2load (nghttp2) sends :path /bytes/1048576 as a literal each time.
// The rest must stay below a quarter per request (the setup of h2load's 4
// connections, about 25 allocations each): an allocation per write, or
// per frame, would show as 1 or 64 more.
func TestProcessAllocsStaticBodyFD(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	t.Setenv("H2LOOP_REACTOR", "fd")
	s := startH2loop(t, false)
	defer s.stop()
	run := func(n int) {
		out, err := exec.Command(h2load, "-n", itoa(n), "-c", "4", "-m", "1", "http://"+s.addr+"/bytes/1048576").CombinedOutput()
		if err != nil || !strings.Contains(string(out), itoa(n)+" succeeded, 0 failed") {
			t.Fatalf("h2load: %v\n%s", err, out)
		}
	}
	run(200)
	const n = 4000
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run(n)
	runtime.ReadMemStats(&m1)
	per := float64(m1.Mallocs-m0.Mallocs) / n
	t.Logf("%d allocations for %d requests of 1 MiB: %.4f per request", m1.Mallocs-m0.Mallocs, n, per)
	if per > 1.25 {
		t.Fatalf("%.4f allocations per request for the whole process, want < 1.25 (1 of them HPACK's string for :path)", per)
	}
}
