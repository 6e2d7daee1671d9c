//go:build linux

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/internal/hostile"
	"github.com/h2loop/h2loop/internal/testutil"
)

// Runs against servers that break the protocol or attack the client
// (client/hostile): every run must end by itself, with the failures counted
// under the right row of the errors table, its first cause printed, each
// client giving up after a few failed connections, and the heap bounded.

// hostileRunTime bounds a run against a hostile server. The runs take
// milliseconds (or the 300 ms of their -N/-T) when the machine is idle;
// a client that hangs runs into runBench's 60 s.
const hostileRunTime = 10 * time.Second

// hostileRunHeap bounds the growth of the heap during a run; a client
// without bounds grew it by 500 MB in under a second against
// EndlessContinuation.
const hostileRunHeap = 64 << 20

// watchHeap samples the heap until the returned function is called, which
// returns the peak growth over the heap at the start.
func watchHeap() func() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc)
	var peak int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, int64(ms.HeapAlloc)-base)
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}

func startHostile(t *testing.T, b hostile.Behavior) *hostile.Server {
	t.Helper()
	s, err := hostile.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// bigBody writes a request body larger than the initial connection window.
func bigBody(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(p, make([]byte, 200000), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHostileRuns(t *testing.T) {
	const (
		protocol = "protocol error (sent GOAWAY) (PROTOCOL_ERROR)"
		calm     = "protocol error (sent GOAWAY) (ENHANCE_YOUR_CALM)"
		noProg   = "frames in a row that advanced no request"
	)
	body := bigBody(t)
	for _, tc := range []struct {
		b     hostile.Behavior
		args  []string // after -n 40 -c 2 -m 2
		row   string   // the row of the errors table
		cause string   // in its first cause
	}{
		{hostile.MaxFrameSizeTooSmall, nil, protocol, "SETTINGS_MAX_FRAME_SIZE out of range"},
		{hostile.MaxFrameSizeTooLarge, nil, protocol, "SETTINGS_MAX_FRAME_SIZE out of range"},
		{hostile.PushPromise, nil, protocol, "server sent PUSH_PROMISE with push disabled"},
		{hostile.EndlessContinuation, nil, calm, "larger than MaxHeaderBlockSize"},
		{hostile.EmptyContinuation, nil, calm, "more CONTINUATION frames in one field block than MaxContinuations"},
		{hostile.HeadersUnopened, nil, protocol, "a stream the client never opened"},
		{hostile.InformationalFlood, nil, calm, noProg},
		{hostile.PingFlood, nil, calm, "server "},
		{hostile.SettingsFlood, nil, calm, "server "},
		{hostile.PingFloodReading, nil, calm, "server "},
		{hostile.ZeroWindow, []string{"-d", body, "-N", "300ms"}, "timeout", "-N: no activity for 300ms"},
		// -T starts, as in h2load, when a client's last request is
		// submitted: with -n 4 all of them are, at once
		{hostile.ZeroWindow, []string{"-d", body, "-n", "4", "-T", "300ms"}, "timeout", "-T: the connection was still active 300ms"},
		{hostile.GoAwaySilent, []string{"-N", "300ms"}, "timeout", "-N: no activity for 300ms"},
		{hostile.GoAwayClose, nil, "connection closed", "closed the connection with requests in flight, after GOAWAY"},
		{hostile.CloseMidFrame, nil, "connection closed", "in the middle of a frame"},
		{hostile.OversizedFrame, nil, "protocol error (sent GOAWAY) (FRAME_SIZE_ERROR)", "frame larger than SETTINGS_MAX_FRAME_SIZE"},
	} {
		name := tc.b.String()
		if len(tc.args) > 0 {
			name += "/" + strings.Join(tc.args[len(tc.args)-2:], "")
		}
		t.Run(name, func(t *testing.T) {
			s := startHostile(t, tc.b)
			heap := watchHeap()
			start := time.Now()
			args := append([]string{"-n", "40", "-c", "2", "-m", "2"}, tc.args...)
			r, report := runBench(t, append(args, s.URL())...)
			el, grew := time.Since(start), heap()
			t.Logf("%v, heap +%d KiB, %d connections", el, grew>>10, s.Conns())
			if el > hostileRunTime {
				t.Errorf("the run took %v", el)
			}
			if grew > hostileRunHeap {
				t.Errorf("the heap grew by %d MiB", grew>>20)
			}
			// nothing succeeds; every request is counted once
			n := r.Requests.Total
			if n != 40 && n != 4 {
				t.Errorf("%d requests", n)
			}
			wantCounts(t, r, n, 0, n, n, r.Requests.Timeout)
			if r.Errors[tc.row] == 0 || !strings.Contains(r.ErrorCauses[tc.row], tc.cause) {
				t.Errorf("errors %v, causes %q: want %q caused by %q", r.Errors, r.ErrorCauses, tc.row, tc.cause)
			}
			if !strings.Contains(report, "\n    first cause: "+r.ErrorCauses[tc.row]+"\n") {
				t.Errorf("the report does not give the cause:\n%s", report)
			}
			c := r.Connections
			// each client gives up after 3 failed connections in a row, or
			// at its first timeout
			maxConns := int64(6)
			if tc.row == "timeout" {
				maxConns = 2
				if r.Requests.Timeout != 4 {
					t.Errorf("%d timeouts, want the 4 requests in flight", r.Requests.Timeout)
				}
			}
			if c.Made > maxConns || c.Failed != c.Made || c.Made != int64(s.Conns()) {
				t.Errorf("connections: %d made, %d failed, %d seen by the server; want at most %d, all failed",
					c.Made, c.Failed, s.Conns(), maxConns)
			}
			if abandoned := r.Errors["abandoned"]; abandoned > 0 && r.ErrorCauses["abandoned"] == "" {
				t.Errorf("%d requests abandoned without a cause", abandoned)
			}
			if tc.b == hostile.GoAwaySilent || tc.b == hostile.GoAwayClose {
				if c.GoAways != c.Made {
					t.Errorf("%d GOAWAY received on %d connections", c.GoAways, c.Made)
				}
			}
		})
	}
}

// TestHostileClosedStreamFlood: the server answers the first request of
// each connection and then floods HEADERS on its closed stream. Each
// connection completes one request and then fails, so the clients keep
// reconnecting (each connection makes progress) until the work is done.
func TestHostileClosedStreamFlood(t *testing.T) {
	s := startHostile(t, hostile.HeadersClosed)
	heap := watchHeap()
	r, report := runBench(t, "-n", "40", "-c", "2", "-m", "2", s.URL())
	if grew := heap(); grew > hostileRunHeap {
		t.Errorf("the heap grew by %d MiB", grew>>20)
	}
	q := r.Requests
	if q.Total != 40 || q.Succeeded == 0 || q.Succeeded+q.Failed != 40 ||
		!strings.Contains(r.ErrorCauses["protocol error (sent GOAWAY) (ENHANCE_YOUR_CALM)"], "advanced no request") {
		t.Fatalf("%+v %v\n%s", q, r.ErrorCauses, report)
	}
}

// TestHostileDuration: timing-based runs (-D) against servers that fail
// every connection end early, when every client has given up, instead of
// reconnecting for the whole duration.
func TestHostileDuration(t *testing.T) {
	for _, tc := range []struct {
		b    hostile.Behavior
		args []string
	}{
		{hostile.CloseMidFrame, nil},
		{hostile.PingFlood, nil},
		{hostile.EndlessContinuation, nil},
		{hostile.GoAwaySilent, []string{"-N", "300ms"}},
	} {
		t.Run(tc.b.String(), func(t *testing.T) {
			s := startHostile(t, tc.b)
			heap := watchHeap()
			start := time.Now()
			args := append([]string{"-D", "2s", "-c", "2", "-m", "2"}, tc.args...)
			r, report := runBench(t, append(args, s.URL())...)
			el, grew := time.Since(start), heap()
			if el > hostileRunTime || grew > hostileRunHeap {
				t.Errorf("took %v, heap +%d KiB", el, grew>>10)
			}
			if c := r.Connections; c.Made > 6 || c.Failed != c.Made || len(r.ErrorCauses) == 0 {
				t.Errorf("%+v %v\n%s", c, r.ErrorCauses, report)
			}
		})
	}
}

// TestHostileControl: the same runs against the well-behaved hostile.Good
// succeed, on one connection per client.
func TestHostileControl(t *testing.T) {
	s := startHostile(t, hostile.Good)
	r, report := runBench(t, "-n", "40", "-c", "2", "-m", "2", s.URL())
	wantCounts(t, r, 40, 40, 0, 0, 0)
	if r.Connections.Made != 2 || r.Connections.Failed != 0 || len(r.ErrorCauses) != 0 || strings.Contains(report, "failed\n") {
		t.Fatalf("%+v %v\n%s", r.Connections, r.ErrorCauses, report)
	}
}

// TestErrorCauses: connection failures before HTTP/2 name their cause too.
func TestErrorCauses(t *testing.T) {
	r, report := runBench(t, "-n", "2", "http://127.0.0.1:"+testutil.FreePort(t)+"/")
	if !strings.Contains(r.ErrorCauses["connect"], "connection refused") ||
		!strings.Contains(report, "first cause: connect: connection refused") {
		t.Fatalf("%v\n%s", r.ErrorCauses, report)
	}
	// TLS to a server that speaks none
	s := startHostile(t, hostile.Good)
	r, report = runBench(t, "-n", "2", "https://"+s.Addr+"/")
	if r.Errors["tls handshake"] == 0 || r.ErrorCauses["tls handshake"] == "" {
		t.Fatalf("%v %v\n%s", r.Errors, r.ErrorCauses, report)
	}
}
