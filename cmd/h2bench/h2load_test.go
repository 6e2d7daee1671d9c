//go:build linux

package main

import (
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/h2loop/h2loop/internal/testutil"
)

// TestSameCountsAsH2load runs h2load and h2bench with the same flags
// against the same server and compares what both report: requests,
// status codes and response body bytes. Two URIs are used round-robin; one
// of them is a 404, so failures are counted by both alike.
func TestSameCountsAsH2load(t *testing.T) {
	h2load := testutil.Tool(t, "h2load")
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello, world!\n"))
	}))
	args := []string{"-n", "3001", "-c", "4", "-m", "8", "-t", "1", url + "/a", url + "/nope"}
	out, err := exec.Command(h2load, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	theirs := parseH2loadReport(t, string(out))
	_, report := runBench(t, args...)
	ours := parseH2loadReport(t, report)
	for k, v := range theirs {
		if ours[k] != v {
			t.Errorf("%s: h2bench %d, h2load %d", k, ours[k], v)
		}
	}
	if theirs["succeeded"] != 1501 || theirs["4xx"] != 1500 {
		t.Fatalf("h2load's own counts are off: %v\n%s", theirs, out)
	}
	if t.Failed() {
		t.Logf("h2load:\n%s\nh2bench:\n%s", out, report)
	}
}

var (
	reReqLine    = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	reStatusLine = regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
	reDataBytes  = regexp.MustCompile(`traffic: .*\((\d+)\) data`)
)

// parseH2loadReport reads the counters of h2load's report layout.
func parseH2loadReport(t *testing.T, s string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	fill := func(re *regexp.Regexp, names ...string) {
		sm := re.FindStringSubmatch(s)
		if sm == nil {
			t.Fatalf("no match for %v in:\n%s", re, s)
		}
		for i, n := range names {
			m[n], _ = strconv.ParseInt(strings.TrimSpace(sm[i+1]), 10, 64)
		}
	}
	fill(reReqLine, "total", "started", "done", "succeeded", "failed", "errored", "timeout")
	fill(reStatusLine, "2xx", "3xx", "4xx", "5xx")
	fill(reDataBytes, "data")
	return m
}
