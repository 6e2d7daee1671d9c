//go:build !race

package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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
	wantProcessAllocs(t, "request", 0.01, "/", 20000, 100000, "-c", "8", "-m", "16")
}

// TestProcessAllocsPerRequestFDH1 is TestProcessAllocsPerRequestFD for
// HTTP/1.1 keep-alive connections (h2load --h1, 8 connections), which the
// fd reactor serves on its pollers too.
func TestProcessAllocsPerRequestFDH1(t *testing.T) {
	wantProcessAllocs(t, "HTTP/1.1 request", 0.01, "/", 20000, 50000, "--h1", "-c", "8")
}

// processAllocsPerRequest starts the server (startH2loop) on the fd
// reactor and runs h2load (its flags args) twice against path: warm
// requests that fill the pools and start the workers, then n. It returns
// the whole process's allocations (runtime.MemStats.Mallocs) per request
// of the second batch.
func processAllocsPerRequest(t *testing.T, path string, warm, n int, args ...string) float64 {
	t.Helper()
	h2load := testutil.Tool(t, "h2load")
	t.Setenv("H2LOOP_REACTOR", "fd")
	s := startH2loop(t, false)
	defer s.stop()
	run := func(n int) {
		argv := append(append([]string{"-n", strconv.Itoa(n)}, args...), "http://"+s.addr+path)
		out, err := exec.Command(h2load, argv...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), strconv.Itoa(n)+" succeeded, 0 failed") {
			t.Fatalf("h2load: %v\n%s", err, out)
		}
	}
	run(warm)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	run(n)
	runtime.ReadMemStats(&m1)
	return float64(m1.Mallocs-m0.Mallocs) / float64(n)
}

// TestProcessAllocsStaticBodyFD is TestProcessAllocsPerRequestFD for
// 1 MiB static bodies (h2load -c 4 -m 1, as the 1 MiB workload of
// bench/compare), which the fd reactor writes from the body's memory by
// reference, 64 DATA frames per response. h2load (nghttp2) sends :path
// /bytes/1048576 as a literal without indexing each time: the HPACK
// decoder puts it in the request's own memory (it made a string of it,
// one allocation per request, before; measured 0.035 now). What is left
// must stay below a quarter per request (the setup of h2load's 4
// connections, about 25 allocations each): an allocation per write, per
// frame or per literal would show as 1, 64 or 1 more.
func TestProcessAllocsStaticBodyFD(t *testing.T) {
	wantProcessAllocs(t, "request of 1 MiB", 0.25, "/bytes/1048576", 200, 4000, "-c", "4", "-m", "1")
}

// TestProcessAllocsPostFD: POST 4 KiB to /echo (h2load -c 4 -m 4, as the
// POST workload of bench/compare, at a lower concurrency). h2load sends
// :path and content-length as literals without indexing; they are decoded
// into the request's own memory (2 allocations per request before), and
// the body is gathered and echoed through pooled buffers.
func TestProcessAllocsPostFD(t *testing.T) {
	body := filepath.Join(t.TempDir(), "post4k")
	if err := os.WriteFile(body, bytes.Repeat([]byte("p"), 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	wantProcessAllocs(t, "POST of 4 KiB", 0.25, "/echo", 400, 8000, "-c", "4", "-m", "4", "-d", body)
}

// wantProcessAllocs runs processAllocsPerRequest and fails the test if the
// whole process made more than limit allocations per request (what names
// the request in the messages).
func wantProcessAllocs(t *testing.T, what string, limit float64, path string, warm, n int, args ...string) {
	t.Helper()
	per := processAllocsPerRequest(t, path, warm, n, args...)
	t.Logf("%.4f allocations per %s over %d requests", per, what, n)
	if per > limit {
		t.Fatalf("%.4f allocations per %s for the whole process, want < %v", per, what, limit)
	}
}
