//go:build linux

package main

import (
	"net"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/internal/testutil"
)

// flagServer is the server both tools are pointed at: /slow answers after
// 20 ms, /stall never (until the client goes), anything else at once. It
// counts the requests it answered and when each connection arrived.
type flagServer struct {
	url      string
	mu       sync.Mutex
	answered int
	conns    []time.Time
}

func newFlagServer(t *testing.T) *flagServer {
	s := &flagServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(20 * time.Millisecond)
		case "/stall":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.Write([]byte("hello, world!\n"))
		s.mu.Lock()
		s.answered++
		s.mu.Unlock()
	})}
	srv.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns = append(s.conns, time.Now())
			s.mu.Unlock()
		}
	}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

// reset forgets what the server saw and returns what it saw so far.
func (s *flagServer) reset() (answered int, conns []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	answered, conns = s.answered, s.conns
	s.answered, s.conns = 0, nil
	return answered, conns
}

// toolRun is what one tool reported and what the server saw meanwhile.
type toolRun struct {
	counts   map[string]int64
	answered int
	conns    []time.Time
	start    time.Time // when the tool was started
	report   string
}

// TestSameFlagsAsH2load runs h2load and h2bench with the same command line
// for the connection-rate, duration, warm-up and timeout flags, against the
// same server, and compares what both report and what the server saw.
// Timeout runs must agree exactly; timed runs, within what a loaded
// machine allows (each bounded by what the flags make possible).
func TestSameFlagsAsH2load(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	s := newFlagServer(t)
	both := func(t *testing.T, args ...string) (theirs, ours toolRun) {
		t.Helper()
		s.reset()
		theirs.start = time.Now()
		out, err := exec.Command(h2load, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("h2load %q: %v\n%s", args, err, out)
		}
		time.Sleep(50 * time.Millisecond) // let the server count the last answers
		theirs.report = string(out)
		theirs.counts = parseH2loadReport(t, theirs.report)
		theirs.answered, theirs.conns = s.reset()
		ours.start = time.Now()
		_, ours.report = runBench(t, args...)
		time.Sleep(50 * time.Millisecond)
		ours.counts = parseH2loadReport(t, ours.report)
		ours.answered, ours.conns = s.reset()
		return theirs, ours
	}
	same := func(t *testing.T, name string, theirs, ours toolRun, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if theirs.counts[k] != ours.counts[k] {
				t.Errorf("%s: %s: h2bench %d, h2load %d\nh2load:\n%s\nh2bench:\n%s", name, k, ours.counts[k], theirs.counts[k], theirs.report, ours.report)
			}
		}
	}
	all := []string{"total", "started", "done", "succeeded", "failed", "errored", "timeout", "2xx", "data"}

	t.Run("rate", func(t *testing.T) {
		// -r 1 --rate-period 300ms -c 3: one connection every 300 ms
		theirs, ours := both(t, "-n", "60", "-c", "3", "-m", "2", "-r", "1", "--rate-period", "300ms", s.url+"/slow")
		same(t, "-r", theirs, ours, all...)
		for name, run := range map[string]toolRun{"h2load": theirs, "h2bench": ours} {
			if len(run.conns) != 3 || run.answered != 60 {
				t.Fatalf("%s: the server saw %d connections, answered %d", name, len(run.conns), run.answered)
			}
			// connection k cannot come before k periods (a loaded
			// machine delays, never advances)
			sort.Slice(run.conns, func(i, j int) bool { return run.conns[i].Before(run.conns[j]) })
			for i, at := range run.conns {
				if d := at.Sub(run.start); d < time.Duration(i)*270*time.Millisecond {
					t.Fatalf("%s: connection %d came %v after the start, want %v", name, i+1, d, time.Duration(i)*300*time.Millisecond)
				}
			}
		}
		// the long name is h2load's too
		_, ours2 := both(t, "-n", "60", "-c", "3", "-m", "2", "--rate=1", "--rate-period=300ms", s.url+"/slow")
		if len(ours2.conns) != 3 || ours2.conns[2].Sub(ours2.start) < 540*time.Millisecond {
			t.Fatalf("--rate=1: connections at %v", ours2.conns)
		}
	})

	// -c 2 -m 1 against 20 ms responses: at most 2 / 20 ms = 100 requests a
	// second can complete.
	// timed checks a timed run of each tool against what the flags allow,
	// and reports whether the two counts are within a factor of 3 of each
	// other (a loaded machine can starve one run: the caller runs the pair
	// again before calling that a difference).
	timed := func(t *testing.T, name string, theirs, ours toolRun, secs float64, warm bool) bool {
		t.Helper()
		most := int64(secs*100) + 4
		for tool, run := range map[string]toolRun{"h2load": theirs, "h2bench": ours} {
			c := run.counts
			if c["total"] != c["done"] || c["succeeded"] != c["done"] || c["failed"] != 0 {
				t.Fatalf("%s %s: %v\n%s", name, tool, c, run.report)
			}
			if c["total"] > most || c["total"] < 5 {
				t.Fatalf("%s %s: %d requests in %.1f s, want at most %d (and not next to none)\n%s", name, tool, c["total"], secs, most, run.report)
			}
			if warm && int64(run.answered) < c["total"]+5 {
				t.Fatalf("%s %s: the server answered %d, the report counts %d: the warm-up's requests are not apart\n%s",
					name, tool, run.answered, c["total"], run.report)
			}
			if !warm && int64(run.answered) > c["total"]+2 {
				t.Fatalf("%s %s: the server answered %d, the report counts %d\n%s", name, tool, run.answered, c["total"], run.report)
			}
		}
		a, b := float64(theirs.counts["total"]), float64(ours.counts["total"])
		t.Logf("%s: h2load %v requests, h2bench %v", name, a, b)
		return b >= a/3 && b <= a*3
	}
	timedPair := func(t *testing.T, warm bool, args ...string) {
		t.Helper()
		for try := 0; ; try++ {
			theirs, ours := both(t, args...)
			if timed(t, strings.Join(args[:len(args)-1], " "), theirs, ours, 1, warm) {
				return
			}
			if try == 2 {
				t.Fatalf("%q: h2bench and h2load counted %d and %d requests, three times apart or more, in 3 tries",
					args, ours.counts["total"], theirs.counts["total"])
			}
		}
	}
	t.Run("duration", func(t *testing.T) {
		timedPair(t, false, "-D", "1", "-c", "2", "-m", "1", s.url+"/slow")
	})
	t.Run("warm-up", func(t *testing.T) {
		timedPair(t, true, "-D", "1", "--warm-up-time", "1", "-c", "2", "-m", "1", s.url+"/slow")
	})
	t.Run("inactivity-timeout", func(t *testing.T) {
		theirs, ours := both(t, "-n", "6", "-c", "1", "-m", "2", "-N", "300ms", s.url+"/stall")
		same(t, "-N", theirs, ours, all...)
		if theirs.counts["timeout"] != 2 {
			t.Fatalf("h2load: %v", theirs.counts)
		}
		theirs, ours = both(t, "-n", "4", "-c", "2", "-m", "2", "--connection-inactivity-timeout=300ms", s.url+"/stall")
		same(t, "--connection-inactivity-timeout", theirs, ours, all...)
	})
	t.Run("active-timeout", func(t *testing.T) {
		theirs, ours := both(t, "-n", "2", "-c", "1", "-m", "2", "-T", "300ms", s.url+"/stall")
		same(t, "-T", theirs, ours, all...)
		if theirs.counts["timeout"] != 2 {
			t.Fatalf("h2load: %v", theirs.counts)
		}
		theirs, ours = both(t, "-n", "4", "-c", "2", "-m", "2", "--connection-active-timeout", "300ms", s.url+"/stall")
		same(t, "--connection-active-timeout", theirs, ours, all...)
		// h2load's -T starts when a client's last request is issued (its
		// code, whatever its help says): a 600 ms run of 30 requests one
		// after another is not cut at 300 ms
		theirs, ours = both(t, "-n", "30", "-c", "1", "-m", "1", "-T", "300ms", s.url+"/slow")
		same(t, "-T (busy connection)", theirs, ours, all...)
		if theirs.counts["succeeded"] != 30 {
			t.Fatalf("h2load: %v", theirs.counts)
		}
	})
}
