//go:build linux

package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/internal/testutil"
)

// wantCounts checks the request counters of a run.
func wantCounts(t *testing.T, r *result, total, succeeded, failed, errored, timeout int64) {
	t.Helper()
	q := r.Requests
	if q.Total != total || q.Succeeded != succeeded || q.Failed != failed || q.Errored != errored || q.Timeout != timeout {
		t.Fatalf("requests: %d total, %d succeeded, %d failed, %d errored, %d timeout; want %d %d %d %d %d",
			q.Total, q.Succeeded, q.Failed, q.Errored, q.Timeout, total, succeeded, failed, errored, timeout)
	}
}

// TestAccounting checks -n/-c/-m/-t: every request is made once, on -c
// connections, with at most -m in flight on each.
func TestAccounting(t *testing.T) {
	var mu sync.Mutex
	inflight := map[string]int{}
	peak := map[string]int{}
	var total atomic.Int64
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight[r.RemoteAddr]++
		peak[r.RemoteAddr] = max(peak[r.RemoteAddr], inflight[r.RemoteAddr])
		mu.Unlock()
		time.Sleep(time.Millisecond)
		total.Add(1)
		w.Write([]byte("hello, world!\n"))
		mu.Lock()
		inflight[r.RemoteAddr]--
		mu.Unlock()
	}))
	r, report := runBench(t, "-n", "1003", "-c", "4", "-m", "3", "-t", "2", url+"/a", url+"/b?x=1")
	wantCounts(t, r, 1003, 1003, 0, 0, 0)
	if r.Requests.Started != 1003 || r.Requests.Done != 1003 || total.Load() != 1003 {
		t.Fatalf("started %d done %d served %d", r.Requests.Started, r.Requests.Done, total.Load())
	}
	if r.StatusCodes["200"] != 1003 || r.StatusClasses[2] != 1003 {
		t.Fatalf("status codes %v", r.StatusCodes)
	}
	if r.Connections.Made != 4 || len(peak) != 4 {
		t.Fatalf("connections made %d, server saw %d", r.Connections.Made, len(peak))
	}
	for addr, p := range peak {
		if p > 3 {
			t.Fatalf("%s had %d requests in flight, -m 3", addr, p)
		}
	}
	if r.Traffic.Data != 1003*14 {
		t.Fatalf("data %d, want %d", r.Traffic.Data, 1003*14)
	}
	if r.hist["request"].TotalCount() != 1003 || r.RequestTime.N != 1003 {
		t.Fatalf("latency samples %d/%d", r.hist["request"].TotalCount(), r.RequestTime.N)
	}
	for _, s := range []string{"requests: 1003 total, 1003 started, 1003 done, 1003 succeeded, 0 failed, 0 errored, 0 timeout",
		"status codes: 1003 2xx, 0 3xx, 0 4xx, 0 5xx", "time for request: ", "time for connect: ",
		"time to 1st byte: ", "req/s           : ", "application protocol: h2c"} {
		if !strings.Contains(report, s) {
			t.Fatalf("report lacks %q:\n%s", s, report)
		}
	}
	if r.RequestTime.mean() < 1e6 {
		t.Fatalf("mean request time %v below the server's 1 ms", r.RequestTime.mean())
	}
}

// TestLatencyStall checks raw and coordinated-omission-corrected latency
// against a server whose delays are known: 100 req/s open loop on one
// stream; every response takes ~1 ms except the 50th, which stalls 500 ms.
// The 55-odd requests due during the stall cannot start on time; their
// corrected latency falls from ~500 ms by (10 ms - drain time) each.
func TestLatencyStall(t *testing.T) {
	var n atomic.Int64
	const stall = 500 * time.Millisecond
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 50 {
			time.Sleep(stall)
		} else {
			time.Sleep(time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	// A loaded machine can make the server or the generator slower than
	// the schedule for a while (a late send, a slow drain, a growing
	// backlog): the upper bounds below assume neither is. A run that misses
	// an upper bound is run again, up to 3 times in all, since a generator
	// that counted the stall twice misses it every time; a lower bound
	// missed fails at once, as it means a generator that forgot intended
	// starts, which no load can cause.
	for try := 1; ; try++ {
		n.Store(0)
		msg, retry := latencyStallRun(t, url)
		if msg == "" {
			return
		}
		if !retry || try == 3 {
			t.Fatal(msg)
		}
		t.Logf("try %d: %s; again", try, strings.SplitN(msg, "\n", 2)[0])
	}
}

// latencyStallRun is one run of TestLatencyStall: it returns what failed
// (empty if nothing) and whether it was an upper bound, which load can
// break.
func latencyStallRun(t *testing.T, url string) (msg string, retry bool) {
	r, report := runBench(t, "-n", "200", "-c", "1", "-m", "1", "-R", "100", url+"/")
	wantCounts(t, r, 200, 200, 0, 0, 0)
	raw, cor := r.hist["request"], r.hist["corrected"]
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	s := ms(raw.ValueAtPercentile(50)) // the service time, as measured
	late := r.Requests.Late
	lateHi := max(int64(510/(10-3*min(s, 3)))+5, 150) // at most 150: the last 50 started on time
	if s < 1 || s > 6 {
		return fmt.Sprintf("raw p50 %.2f ms, want ~1 ms\n%s", s, report), s > 6
	}
	if p := ms(raw.ValueAtPercentile(99)); p > 250 { // far below the stall; loose for -race and loaded machines
		return fmt.Sprintf("raw p99 %.2f ms: only one request of 200 is slow\n%s", p, report), true
	}
	if mx := ms(raw.Max()); mx < 500 || mx > 700 {
		return fmt.Sprintf("raw max %.2f ms, want ~501\n%s", mx, report), mx > 700
	}
	// Bounds that hold however fast the backlog drains. Request 50 is sent
	// no earlier than it is due and answered no earlier than 500 ms later;
	// request 50+j, due 10*j ms after it, cannot end before the stall and j
	// more responses of at least 1 ms each: corrected >= 500 - 9*j ms
	// (lower). The backlog drains at least 3 ms per request faster than the
	// schedule, or it would not have drained before the run ended (the late
	// count below checks that): corrected <= max - 3*j ms (upper, from the
	// largest corrected value, which includes any lag the generator had
	// before the stall on a loaded machine). A
	// generator that forgot the intended start (coordinated omission) falls
	// below the lower bound; one that counted the stall twice, above the
	// upper.
	model := func(first, slope float64) func(p float64) float64 {
		var v []float64
		for k := 0; k < 200; k++ {
			v = append(v, 1)
		}
		for j := 0; 49+j < 200; j++ {
			if c := first - slope*float64(j); c > 1 {
				v[49+j] = c
			}
		}
		sort.Float64s(v)
		return func(p float64) float64 {
			i := int(math.Ceil(p/100*float64(len(v)))) - 1
			return v[max(i, 0)]
		}
	}
	lower, upper := model(500, 9), model(ms(cor.Max()), 3)
	for _, p := range []float64{50, 90, 99} {
		got, lo, hi := ms(cor.ValueAtPercentile(p)), lower(p), upper(p)
		if got < 0.99*lo-1 {
			return fmt.Sprintf("corrected p%v = %.1f ms, want at least %.1f ms\n%s", p, got, lo, report), false
		}
		if got > 1.01*hi+1 {
			return fmt.Sprintf("corrected p%v = %.1f ms, want at most %.1f ms\n%s", p, got, hi, report), true
		}
	}
	if mx := ms(cor.Max()); mx < 500 {
		return fmt.Sprintf("corrected max %.1f ms\n%s", mx, report), false
	} else if mx > 700 {
		return fmt.Sprintf("corrected max %.1f ms\n%s", mx, report), true
	}
	// The 50 requests due during the stall cannot start on time, nor can
	// those due while the backlog drains (about 500/(10-s) in all; the
	// drain may run slower than the median service time).
	if late < 48 {
		return fmt.Sprintf("late starts %d, want at least 48\n%s", late, report), false
	}
	if late > lateHi {
		return fmt.Sprintf("late starts %d, want at most %d\n%s", late, lateHi, report), true
	}
	if !strings.Contains(report, "corrected (intended start -> last):") || !strings.Contains(report, "could not start on time") {
		return fmt.Sprintf("report lacks the open-loop lines:\n%s", report), false
	}
	return "", false
}

// TestClosedLoopDelay checks the closed-loop figures against a fixed delay.
func TestClosedLoopDelay(t *testing.T) {
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	r, report := runBench(t, "-n", "20", "-c", "2", "-m", "2", url+"/")
	wantCounts(t, r, 20, 20, 0, 0, 0)
	for _, name := range []string{"request", "ttfb"} {
		h := r.hist[name]
		p50, mx := float64(h.ValueAtPercentile(50))/1e6, float64(h.Max())/1e6
		if p50 < 20 || p50 > 60 || mx > 250 {
			t.Fatalf("%s p50 %.1f ms max %.1f ms, want ~20\n%s", name, p50, mx, report)
		}
	}
	// 4 streams, 20 ms each: about 5 rounds of 20 ms
	if r.Duration < 0.1 || r.Duration > 1 {
		t.Fatalf("duration %.3f s", r.Duration)
	}
}

func TestGoAwayReconnect(t *testing.T) {
	s := newRawH2Server(t, 7, false)
	r, report := runBench(t, "-n", "100", "-c", "2", "-m", "4", "http://"+s.addr+"/")
	wantCounts(t, r, 100, 100, 0, 0, 0)
	s.mu.Lock()
	answers, conns := s.answers, s.conns
	s.mu.Unlock()
	if answers != 100 {
		t.Fatalf("server answered %d", answers)
	}
	if r.Connections.Made < 100/7 || r.Connections.Reconnects < 100/7-2 || r.Connections.GoAways == 0 {
		t.Fatalf("connections %+v\n%s", r.Connections, report)
	}
	if int64(conns) != r.Connections.Made {
		t.Fatalf("server saw %d connections, h2bench made %d", conns, r.Connections.Made)
	}
	if !strings.Contains(report, "reconnects") {
		t.Fatal(report)
	}
}

func TestMaxRequestsPerConn(t *testing.T) {
	url := h2cServer(t, hello)
	r, _ := runBench(t, "-n", "50", "-c", "1", "-m", "4", "--max-requests-per-conn", "10", url+"/")
	wantCounts(t, r, 50, 50, 0, 0, 0)
	if r.Connections.Made != 5 || r.Connections.Reconnects != 4 {
		t.Fatalf("connections %+v, want 5 made", r.Connections)
	}
}

func TestTLSALPN(t *testing.T) {
	url := tlsServer(t, hello, true, nil)
	// as h2load, the self-signed certificate is not verified by default
	r, report := runBench(t, "-n", "200", "-c", "2", "-m", "8", url+"/")
	wantCounts(t, r, 200, 200, 0, 0, 0)
	if r.Protocol != "h2" || r.Connections.HTTP2 != 2 || !strings.Contains(report, "note: TLS: TLS 1.3, TLS_") {
		t.Fatalf("protocol %q %+v\n%s", r.Protocol, r.Connections, report)
	}
	// with --verify it is refused, and the report says why once, with the
	// flag that changes it
	r, report = runBench(t, "-n", "6", "-c", "3", "--verify", url+"/")
	wantCounts(t, r, 6, 0, 6, 6, 0)
	if r.Errors["tls handshake"] != 3 {
		t.Fatalf("errors %v\n%s", r.Errors, report)
	}
	if strings.Count(report, "x509: certificate signed by unknown authority") != 1 || !strings.Contains(report, "--verify") {
		t.Fatalf("the report does not say why once:\n%s", report)
	}
}

func TestTLSFallbackHTTP1(t *testing.T) {
	// the server does not do ALPN at all: fall back to HTTP/1.1, say so
	url := tlsServer(t, hello, false, nil)
	r, report := runBench(t, "-n", "100", "-c", "2", "-m", "4", "-k", url+"/")
	wantCounts(t, r, 100, 100, 0, 0, 0)
	if r.Protocol != "http/1.1" || r.Connections.ALPNFallback != 2 || !strings.Contains(report, "fell back to HTTP/1.1") {
		t.Fatalf("protocol %q %+v\n%s", r.Protocol, r.Connections, report)
	}
	// the server offers only http/1.1 by ALPN
	url = tlsServer(t, hello, false, []string{"http/1.1"})
	r, report = runBench(t, "-n", "100", "-c", "2", "-m", "4", "-k", url+"/")
	wantCounts(t, r, 100, 100, 0, 0, 0)
	if r.Protocol != "http/1.1" || r.Connections.HTTP1 != 2 {
		t.Fatalf("protocol %q\n%s", r.Protocol, report)
	}
	// h2 only offered: no protocol in common
	r, _ = runBench(t, "-n", "2", "-c", "1", "-k", "--alpn-list=h2", url+"/")
	if r.Requests.Succeeded != 0 || r.Errors["alpn"]+r.Errors["tls handshake"] != 1 {
		t.Fatalf("errors %v", r.Errors)
	}
}

func TestH1Cleartext(t *testing.T) {
	url := h2cServer(t, hello)
	r, report := runBench(t, "-n", "300", "-c", "3", "-m", "5", "--h1", url+"/")
	wantCounts(t, r, 300, 300, 0, 0, 0)
	if r.Protocol != "http/1.1" || r.Traffic.Data != 300*14 || r.Traffic.SpaceSavings != 0 {
		t.Fatalf("protocol %q traffic %+v\n%s", r.Protocol, r.Traffic, report)
	}
	// POST bodies, one in flight per connection
	dir := t.TempDir()
	body := filepath.Join(dir, "body")
	os.WriteFile(body, []byte(strings.Repeat("x", 100000)), 0o644)
	var got atomic.Int64
	url = h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 200000)
		n := 0
		for {
			k, err := r.Body.Read(b[n:])
			n += k
			if err != nil {
				break
			}
		}
		got.Add(int64(n))
		fmt.Fprintf(w, "%s %d", r.Method, n)
	}))
	for _, proto := range [][]string{{"--h1"}, {}} {
		got.Store(0)
		args := append([]string{"-n", "20", "-c", "2", "-m", "4", "-d", body}, proto...)
		r, report = runBench(t, append(args, url+"/")...)
		wantCounts(t, r, 20, 20, 0, 0, 0)
		if got.Load() != 20*100000 {
			t.Fatalf("%v: server received %d body bytes\n%s", proto, got.Load(), report)
		}
	}
}

func TestUpgradeDeclined(t *testing.T) {
	// net/http does not do h2c upgrades: it answers the upgrade request as
	// HTTP/1.1, and h2bench carries on with HTTP/1.1 and says so
	url := h2cServer(t, hello)
	r, report := runBench(t, "-n", "20", "-c", "1", "-m", "4", "--upgrade", url+"/")
	wantCounts(t, r, 20, 20, 0, 0, 0)
	if r.Connections.UpgradeNo != 1 || !strings.Contains(report, "declined the h2c upgrade") {
		t.Fatalf("%+v\n%s", r.Connections, report)
	}
}

func TestUpgrade(t *testing.T) {
	s := newRawH2Server(t, 1000, true)
	r, report := runBench(t, "-n", "60", "-c", "3", "-m", "4", "--upgrade", "http://"+s.addr+"/")
	wantCounts(t, r, 60, 60, 0, 0, 0)
	if r.Connections.Upgraded != 3 || r.Protocol != "h2c (upgrade)" || r.Traffic.Data != 60*2 {
		t.Fatalf("%+v %q\n%s", r.Connections, r.Protocol, report)
	}
}

// TestUpgradeH2O drives a real h2c upgrade against h2o (nghttpd and
// net/http do not implement the upgrade). CI does not install h2o, so the
// test skips without it (TestUpgrade covers the path in-process).
func TestUpgradeH2O(t *testing.T) {
	path, err := exec.LookPath("h2o")
	if err != nil {
		t.Skip("h2o not installed; TestUpgrade covers the upgrade in-process")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello\n"), 0o644)
	port := testutil.FreePort(t)
	conf := fmt.Sprintf("listen:\n  port: %s\n  host: 127.0.0.1\nnum-threads: 1\nhosts:\n  default:\n    paths:\n      /:\n        file.dir: %s\naccess-log: /dev/null\nerror-log: %s/error.log\npid-file: %s/h2o.pid\n",
		port, dir, dir, dir)
	if os.Geteuid() == 0 {
		conf = "user: root\n" + conf
	}
	os.WriteFile(filepath.Join(dir, "h2o.conf"), []byte(conf), 0o644)
	cmd := exec.Command(path, "-c", filepath.Join(dir, "h2o.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, "127.0.0.1:"+port)
	r, report := runBench(t, "-n", "50", "-c", "2", "-m", "4", "--upgrade", "http://127.0.0.1:"+port+"/index.html")
	wantCounts(t, r, 50, 50, 0, 0, 0)
	if r.Connections.Upgraded != 2 || r.Protocol != "h2c (upgrade)" || r.Traffic.Data != 50*6 {
		t.Fatalf("%+v %q\n%s", r.Connections, r.Protocol, report)
	}
}

func TestTimeouts(t *testing.T) {
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Write([]byte("ok"))
	}))
	start := time.Now()
	r, report := runBench(t, "-n", "6", "-c", "1", "-m", "2", "-N", "300ms", url+"/stall")
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("inactivity timeout took %v", el)
	}
	// 2 in flight time out; 4 never issued are abandoned
	wantCounts(t, r, 6, 0, 6, 6, 2)
	if r.Errors["timeout"] != 2 || r.Errors["abandoned"] != 4 {
		t.Fatalf("errors %v\n%s", r.Errors, report)
	}
	r, _ = runBench(t, "-n", "2", "-c", "1", "-m", "2", "-T", "300ms", url+"/stall")
	wantCounts(t, r, 2, 0, 2, 2, 2)
}

func TestDuration(t *testing.T) {
	url := h2cServer(t, hello)
	start := time.Now()
	r, report := runBench(t, "-D", "1", "--warm-up-time", "300ms", "-c", "2", "-m", "4", url+"/")
	el := time.Since(start)
	if el < 1300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("run took %v", el)
	}
	q := r.Requests
	if q.Total == 0 || q.Total != q.Done || q.Done != q.Started || q.Succeeded != q.Done {
		t.Fatalf("%+v\n%s", q, report)
	}
	if math.Abs(r.Measured-1) > 0.05 || math.Abs(r.ReqPerSec-float64(q.Success)/r.Measured) > 0.01 {
		t.Fatalf("req/s %.1f for %d requests in %.4f s", r.ReqPerSec, q.Success, r.Measured)
	}
}

func TestJSONAndMerge(t *testing.T) {
	url := h2cServer(t, hello)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	ra, _ := runBench(t, "-n", "300", "-c", "2", "-m", "4", "--json", a, url+"/")
	rb, _ := runBench(t, "-n", "500", "-c", "5", "-m", "1", "--json", b, url+"/x")
	ja, err := readJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	if ja.Requests != ra.Requests || ja.hist["request"].TotalCount() != 300 ||
		ja.hist["request"].ValueAtPercentile(99) != ra.hist["request"].ValueAtPercentile(99) ||
		ja.RequestTime != ra.RequestTime || len(ja.Connect) != 2 || ja.StatusCodes["200"] != 300 {
		t.Fatalf("JSON round trip differs: %+v", ja.Requests)
	}
	var out, errb strings.Builder
	m := filepath.Join(dir, "m.json")
	if rc := mergeMain([]string{"--json", m, a, b}, &out, &errb); rc != 0 {
		t.Fatalf("merge: %s", errb.String())
	}
	jm, err := readJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	if jm.Runs != 2 || jm.Requests.Succeeded != 800 || jm.Requests.Total != 800 ||
		jm.hist["request"].TotalCount() != 800 || jm.StatusCodes["200"] != 800 ||
		len(jm.ClientRPS) != 7 || jm.Connections.Made != 7 ||
		jm.RequestTime.N != 800 || jm.RequestTime.Max != max(ra.RequestTime.Max, rb.RequestTime.Max) {
		t.Fatalf("merged %+v %+v", jm.Requests, jm.Connections)
	}
	if math.Abs(jm.ReqPerSec-(ra.ReqPerSec+rb.ReqPerSec)) > 0.01 {
		t.Fatalf("merged req/s %.2f, want %.2f", jm.ReqPerSec, ra.ReqPerSec+rb.ReqPerSec)
	}
	if !strings.Contains(out.String(), "merged 2 runs") || !strings.Contains(out.String(), "requests: 800 total, 800 started, 800 done, 800 succeeded") {
		t.Fatalf("merge report:\n%s", out.String())
	}
}

func TestReportFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0.000037, "37us"}, {0.00123, "1.23ms"}, {2.4567, "2.46s"}, {0, "0us"}} {
		if got := fmtDuration(c.v); got != c.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		v    int64
		want string
	}{{43428, "42.41K"}, {1000, "1000"}, {3 << 20, "3.00M"}} {
		if got := utosFunit(c.v); got != c.want {
			t.Errorf("utosFunit(%d) = %q, want %q", c.v, got, c.want)
		}
	}
	row := rowOf([]float64{1, 2, 3, 4})
	if row.mean != 2.5 || math.Abs(row.sd-math.Sqrt(1.25)) > 1e-12 || row.within != 50 {
		t.Fatalf("row %+v", row)
	}
}

// TestFlagMeanings checks that h2load's flag names keep h2load's meanings
// and units, and that h2bench's own flags do not take h2load's names.
func TestFlagMeanings(t *testing.T) {
	for _, c := range []struct {
		args  []string
		check func(*config) bool
	}{
		{[]string{"-r", "2", "-c", "4", "-n", "4"}, func(c *config) bool { return c.connRate == 2 && c.reqRate == 0 }},
		{[]string{"--rate=3", "-c", "4", "-n", "4"}, func(c *config) bool { return c.connRate == 3 && c.reqRate == 0 }},
		{[]string{"--rate", "3", "--rate-period", "250ms", "-c", "4", "-n", "4"}, func(c *config) bool { return c.ratePeriod == 250*time.Millisecond }},
		{[]string{"--rate-period", "2", "-r", "1"}, func(c *config) bool { return c.ratePeriod == 2*time.Second }},
		{[]string{"-R", "500", "-n", "10"}, func(c *config) bool { return c.reqRate == 500 && c.connRate == 0 }},
		{[]string{"--request-rate=7.5", "-D", "1"}, func(c *config) bool { return c.reqRate == 7.5 }},
		{[]string{"--rps", "5"}, func(c *config) bool { return c.rps == 5 && c.reqRate == 0 }},
		{[]string{"-D", "3", "--warm-up-time", "2"}, func(c *config) bool { return c.duration == 3*time.Second && c.warmup == 2*time.Second }},
		{[]string{"-D", "1h", "--warm-up-time", "500ms"}, func(c *config) bool { return c.duration == time.Hour && c.warmup == 500*time.Millisecond }},
		{[]string{"-T", "5", "-N", "2m"}, func(c *config) bool { return c.activeTimeout == 5*time.Second && c.idleTimeout == 2*time.Minute }},
		{[]string{"--connection-active-timeout=100ms", "--connection-inactivity-timeout", "1s"}, func(c *config) bool {
			return c.activeTimeout == 100*time.Millisecond && c.idleTimeout == time.Second
		}},
		{[]string{}, func(c *config) bool { return !c.verify && !c.enablePush }},
		{[]string{"--enable-push", "-m", "3"}, func(c *config) bool {
			w := &worker{cfg: c}
			h := w.h2cfg()
			return c.enablePush && h.EnablePush && h.MaxConcurrentStreams == 3
		}},
		{[]string{"--verify"}, func(c *config) bool { return c.verify }},
		{[]string{"--verify", "-k"}, func(c *config) bool { return !c.verify }},
		{[]string{"--no-udp-gso", "--qlog-file-base", "x", "--max-udp-payload-size=1K", "--ktls"}, func(c *config) bool { return len(c.warnings) == 4 }},
	} {
		cfg, err := parseArgs(append(c.args, "http://h/"), nil)
		if err != nil || !c.check(cfg) {
			t.Errorf("%q: %v %+v", c.args, err, cfg)
		}
	}
	if _, err := parseArgs([]string{"--version"}, nil); err != errVersion {
		t.Fatalf("--version: %v", err)
	}
	var out, errb strings.Builder
	if rc := run([]string{"--version"}, nil, &out, &errb); rc != 0 || !strings.HasPrefix(out.String(), "h2bench ") || !strings.Contains(out.String(), "1.52") {
		t.Fatalf("--version: %d %q %q", rc, out.String(), errb.String())
	}
	for _, bad := range [][]string{{"-r", "2", "-D", "1"}, {"-r", "0"}, {"-R", "10", "--rps", "1"}, {"--warm-up-time", "1"}} {
		if _, err := parseArgs(append(bad, "http://h/"), nil); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}

func TestParseArgs(t *testing.T) {
	c, err := parseArgs([]string{"-n10", "--clients=2", "-m", "3", "http://h:81/p?q", "-H", "X-A: b", "-f16K",
		"--header-table-size", "8K", "-w16", "--rate-period=2s", "-D", "500ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.nclients != 2 || c.maxStreams != 3 || c.maxFrame != 16384 || c.headerTable != 8192 || c.windowBits != 16 ||
		c.ratePeriod != 2*time.Second || c.duration != 500*time.Millisecond || c.authority != "h:81" ||
		c.reqs[0].Path != "/p?q" || c.headers[0] != (client.Field{Name: "x-a", Value: "b"}) {
		t.Fatalf("%+v", c)
	}
	for _, bad := range [][]string{{"-n", "1", "-c", "2", "http://h/"}, {"-w", "31", "http://h/"}, {"-m", "0", "http://h/"},
		{"http://h/", "-r", "2", "-D", "1"}, {}, {"ftp://h/"}} {
		if _, err := parseArgs(bad, nil); err == nil {
			t.Errorf("parseArgs(%q) accepted", bad)
		}
	}
}
