//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stoppableServer serves handler with h2c until stop is called; then it
// closes its listener and every connection, so clients cannot reconnect.
func stoppableServer(t *testing.T, handler http.Handler) (url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	srv.Protocols.SetHTTP1(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), func() { srv.Close() }
}

// finishedLine returns the figures of the report's first line.
func finishedLine(t *testing.T, report string) (secs, rps float64) {
	t.Helper()
	var d string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "finished in ") {
			if _, err := fmt.Sscanf(l, "finished in %s %f req/s", &d, &rps); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			d = strings.TrimSuffix(d, ",")
			switch {
			case strings.HasSuffix(d, "ms"):
				fmt.Sscanf(d, "%fms", &secs)
				secs /= 1000
			case strings.HasSuffix(d, "us"):
				fmt.Sscanf(d, "%fus", &secs)
				secs /= 1e6
			default:
				fmt.Sscanf(d, "%fs", &secs)
			}
			return secs, rps
		}
	}
	t.Fatalf("no finished line in:\n%s", report)
	return 0, 0
}

// TestEarlyStopRates stops the server 1 s into a -D 5 run: every client
// gives up, and every rate of the report divides by the time measured
// (about 1 s), not by -D's 5 s.
func TestEarlyStopRates(t *testing.T) {
	url, stop := stoppableServer(t, hello)
	time.AfterFunc(time.Second, stop)
	r, report := runBench(t, "-D", "5", "-c", "2", "-m", "4", url+"/")
	if r.Measured < 0.5 || r.Measured > 4 {
		t.Fatalf("measured %.2f s, want about 1 s (the server stopped at 1 s)\n%s", r.Measured, report)
	}
	if r.Requests.Success == 0 {
		t.Fatalf("no request succeeded\n%s", report)
	}
	if want := float64(r.Requests.Success) / r.Measured; math.Abs(r.ReqPerSec-want) > 0.01*want {
		t.Fatalf("req/s %.2f, want %d / %.3f s = %.2f", r.ReqPerSec, r.Requests.Success, r.Measured, want)
	}
	if want := float64(r.Traffic.Total) / r.Measured; math.Abs(r.BytesPerS-want) > 0.01*want {
		t.Fatalf("bytes/s %.2f, want %.2f", r.BytesPerS, want)
	}
	secs, rps := finishedLine(t, report)
	if math.Abs(secs-r.Measured) > 0.01 || math.Abs(rps*secs-float64(r.Requests.Success)) > 0.01*float64(r.Requests.Success)+1 {
		t.Fatalf("the first line says %.3f s and %.2f req/s for %d requests\n%s", secs, rps, r.Requests.Success, report)
	}
}

// TestDurationWarmupMeasured checks that with --warm-up-time the report's
// time is the main duration and the wall time is said apart.
func TestDurationWarmupMeasured(t *testing.T) {
	url := h2cServer(t, hello)
	r, report := runBench(t, "-D", "1", "--warm-up-time", "500ms", "-c", "1", url+"/")
	if math.Abs(r.Measured-1) > 0.05 || r.Duration < 1.5 {
		t.Fatalf("measured %.3f, wall %.3f\n%s", r.Measured, r.Duration, report)
	}
	if secs, _ := finishedLine(t, report); math.Abs(secs-1) > 0.05 || !strings.Contains(report, "of warm-up") {
		t.Fatalf("report:\n%s", report)
	}
}

// wantOpenLoopIdentity checks that every scheduled request is counted once.
func wantOpenLoopIdentity(t *testing.T, r *result, report string) {
	t.Helper()
	q := r.Requests
	if q.Scheduled != q.Done+q.Timeout+q.Unfinished+q.NotSent {
		t.Fatalf("scheduled %d != done %d + timed out %d + in flight at the end %d + not sent %d\n%s", q.Scheduled, q.Done, q.Timeout, q.Unfinished, q.NotSent, report)
	}
	if q.Total != q.Succeeded+q.Failed || q.Total != q.Done+q.Timeout+q.NotSent {
		t.Fatalf("total %d, succeeded %d, failed %d, done %d, not sent %d\n%s", q.Total, q.Succeeded, q.Failed, q.Done, q.NotSent, report)
	}
	// with -D every request not sent was due by the end; with -n those not
	// due yet when the run ended have no latency
	c := r.hist["corrected"].TotalCount()
	if r.Warmup == 0 && strings.Contains(report, "Timing-based") && c != q.Success+q.NotSent ||
		c < q.Success || c > q.Success+q.NotSent {
		t.Fatalf("corrected histogram has %d values, want %d completed + %d not sent\n%s", c, q.Success, q.NotSent, report)
	}
}

// TestOpenLoopNotSent drives a server that needs 50 ms per request on one
// stream at 200 requests/s for 1 s: about 20 are sent and 180 are never
// sent. Each one is counted, and the corrected latency of those never sent
// runs to the end of the run: the oldest of them, due about 100 ms in,
// waited about 900 ms.
func TestOpenLoopNotSent(t *testing.T) {
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	r, report := runBench(t, "-R", "200", "-D", "1", "-c", "1", "-m", "1", url+"/")
	wantOpenLoopIdentity(t, r, report)
	q := r.Requests
	if q.Scheduled < 190 || q.Scheduled > 202 || q.Done > 21 || q.NotSent < 150 {
		t.Fatalf("%+v\n%s", q, report)
	}
	if q.Errored < q.NotSent || r.Errors["not sent (open loop)"] != q.NotSent {
		t.Fatalf("errors %v, requests %+v\n%s", r.Errors, q, report)
	}
	cor := r.hist["corrected"]
	oldest := 1 - float64(q.Done+q.Unfinished)/200 // end - intended start of the first never sent
	if p := float64(cor.Max()) / 1e9; p < oldest-0.1 || p > 1.2 {
		t.Fatalf("corrected max %.3f s, want about %.3f s\n%s", p, oldest, report)
	}
	if !strings.Contains(report, " not sent;") {
		t.Fatalf("report:\n%s", report)
	}
}

// TestOpenLoopServerGone stops the server about 1 s into a -D 5 run at 100
// requests/s: the schedule ends with the measured phase (about 100
// requests, not 500), and every scheduled request is counted.
func TestOpenLoopServerGone(t *testing.T) {
	var n atomic.Int64
	url, stop := stoppableServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Write([]byte("ok"))
	}))
	time.AfterFunc(time.Second, stop)
	r, report := runBench(t, "-R", "100", "-D", "5", "-c", "2", "-m", "2", url+"/")
	wantOpenLoopIdentity(t, r, report)
	q := r.Requests
	// the schedule runs to the end of the measured phase, not to -D's
	if r.Measured < 0.5 || r.Measured > 4 || math.Abs(float64(q.Scheduled)-r.Measured*100) > 3 {
		t.Fatalf("measured %.2f s, %+v\n%s", r.Measured, q, report)
	}
	if q.Succeeded > n.Load() || q.Succeeded < 20 {
		t.Fatalf("succeeded %d, server answered %d\n%s", q.Succeeded, n.Load(), report)
	}
}

// TestJSONStdout checks that --json - writes the JSON, and only it, to
// standard output (the text report goes to standard error) and creates no
// file named "-".
func TestJSONStdout(t *testing.T) {
	url := h2cServer(t, hello)
	t.Chdir(t.TempDir())
	var out, errb strings.Builder
	if rc := run([]string{"-n", "30", "-c", "2", "--json", "-", url + "/"}, nil, &out, &errb); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errb.String())
	}
	var r result
	if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if r.Requests.Succeeded != 30 || !strings.Contains(errb.String(), "requests: 30 total") {
		t.Fatalf("%+v\nstderr:\n%s", r.Requests, errb.String())
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal(`a file named "-" was written`)
	}
}

// TestFailOn checks the exit status: 0 as h2load when the run completes,
// even if every request failed; 2 with one line naming each --fail-on
// threshold crossed.
func TestFailOn(t *testing.T) {
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(5 * time.Millisecond)
		}
		if r.URL.Path == "/bad" {
			w.WriteHeader(503)
		}
		w.Write([]byte("x"))
	}))
	for _, c := range []struct {
		args  []string
		rc    int
		lines []string
	}{
		{[]string{url + "/bad"}, 0, nil},
		{[]string{"--fail-on", "failed>50%", url + "/bad"}, 2, []string{"--fail-on failed>50% (failed was 100% (20 of 20))"}},
		{[]string{"--fail-on=failed>0", url + "/ok"}, 0, nil},
		{[]string{"--fail-on", "failed>0", "--fail-on", "p99>1ms", url + "/slow"}, 2, []string{"--fail-on p99>1ms (p99 was "}},
		{[]string{"--fail-on", "p99>1h", "--fail-on", "rps<0.5", url + "/slow"}, 0, nil},
		{[]string{"--fail-on", "rps<100000000", "--fail-on", "failed>=1", url + "/bad"}, 2, []string{"rps<100000000 (rps was ", "failed>=1 (failed was 20)"}},
	} {
		var out, errb strings.Builder
		rc := run(append([]string{"-n", "20", "-c", "2", "-q"}, c.args...), nil, &out, &errb)
		lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
		if errb.Len() == 0 {
			lines = nil
		}
		if rc != c.rc || len(lines) != len(c.lines) {
			t.Fatalf("%q: exit %d, stderr %q; want exit %d and %d lines", c.args, rc, errb.String(), c.rc, len(c.lines))
		}
		for i, want := range c.lines {
			if !strings.HasPrefix(lines[i], "h2bench: threshold crossed: ") || !strings.Contains(lines[i], want) {
				t.Errorf("%q: line %q, want %q", c.args, lines[i], want)
			}
		}
	}
	for _, bad := range []string{"p99", "p98>1ms", "failed>x", "p99>1", "rps<"} {
		if _, err := parseArgs([]string{"--fail-on", bad, "http://h/"}, nil); err == nil {
			t.Errorf("--fail-on %q accepted", bad)
		}
	}
}

// TestOpenLoopCountServerGone is the same with -n: all N requests are
// scheduled; those the run never sent are counted as not sent.
func TestOpenLoopCountServerGone(t *testing.T) {
	url, stop := stoppableServer(t, hello)
	time.AfterFunc(time.Second, stop)
	r, report := runBench(t, "-R", "100", "-n", "300", "-c", "2", "-m", "2", url+"/")
	wantOpenLoopIdentity(t, r, report)
	q := r.Requests
	if q.Scheduled != 300 || q.Total != 300 || q.NotSent < 100 || q.Succeeded < 20 {
		t.Fatalf("%+v\n%s", q, report)
	}
	// the not sent that were due got a corrected latency, the others not
	if due := int64(r.Measured*100) + 1; r.hist["corrected"].TotalCount() > q.Success+max(0, due-q.Done)+2 {
		t.Fatalf("corrected histogram has %d values for %d completed and %d due by the end\n%s",
			r.hist["corrected"].TotalCount(), q.Success, due, report)
	}
}
