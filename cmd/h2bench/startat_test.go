//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStartAt starts two runs, launched 300 ms apart, at the same
// --start-at instant, and merges them.
func TestStartAt(t *testing.T) {
	url := h2cServer(t, hello)
	dir := t.TempDir()
	// far enough ahead for both runs to be connected and waiting on a
	// loaded machine (CI runs every package's tests at once)
	at := time.Now().Add(2500 * time.Millisecond).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	res := make([]*result, 2)
	files := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	forms := []string{at.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64)}
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 300 * time.Millisecond)
			res[i], _ = runBench(t, "-n", "50", "-c", "2", "--start-at", forms[i], "--json", files[i], url+"/")
		}()
	}
	wg.Wait()
	for i, r := range res {
		st, err := time.Parse(time.RFC3339Nano, r.Start)
		// what must hold: not before the instant; loosely after it (a
		// starved goroutine wakes late)
		if err != nil || st.Before(at) || st.After(at.Add(2*time.Second)) || r.Requests.Succeeded != 50 {
			t.Fatalf("run %d (--start-at %s) started at %s, want %s: %v %+v", i, forms[i], r.Start, at.UTC().Format(time.RFC3339Nano), err, r.Requests)
		}
	}
	var out, errb strings.Builder
	page := filepath.Join(dir, "m.html")
	if rc := mergeMain(append([]string{"--html", page}, files...), &out, &errb); rc != 0 || strings.Contains(out.String(), "did not all overlap") ||
		!strings.Contains(out.String(), "requests: 100 total") {
		t.Fatalf("merge: %d %s %s", rc, out.String(), errb.String())
	}
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "requests: 100 total") || !strings.Contains(string(b), "<title>h2bench merge ") {
		t.Fatalf("merge --html: %v", err)
	}
	// runs that started apart are said to be so
	r, _ := readJSON(files[1])
	r.Start = at.Add(5 * time.Second).UTC().Format(time.RFC3339Nano)
	writeJSON(files[1], nil, r)
	out.Reset()
	if rc := mergeMain(files, &out, &errb); rc != 0 || !strings.Contains(out.String(), "note: the runs started up to 5s apart") {
		t.Fatalf("merge: %d %s %s", rc, out.String(), errb.String())
	}

	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"+90s": now.Add(90 * time.Second), "+2m": now.Add(2 * time.Minute), "2026-01-02T03:05:00Z": now.Add(55 * time.Second),
		"1767323045.5": now.Add(500 * time.Millisecond),
	} {
		if got, err := parseStartAt(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseStartAt(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"tomorrow", "+x", "2026-01-02 03:04"} {
		if _, err := parseStartAt(bad, now); err == nil {
			t.Errorf("parseStartAt(%q) accepted", bad)
		}
	}
}
