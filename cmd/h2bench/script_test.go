//go:build linux

package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBaseURI checks -B: a base URI's scheme, host and port replace the
// URIs' (which may then be paths), and unix:PATH connects to a Unix socket.
func TestBaseURI(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Host+r.URL.Path]++
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	url := h2cServer(t, h)
	r, report := runBench(t, "-n", "10", "-c", "2", "-B", url, "http://nowhere.invalid:1/a", "/b")
	host := strings.TrimPrefix(url, "http://")
	mu.Lock()
	defer mu.Unlock()
	if r.Requests.Succeeded != 10 || seen[host+"/a"] != 6 || seen[host+"/b"] != 4 {
		t.Fatalf("%+v %v\n%s", r.Requests, seen, report)
	}

	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, Protocols: new(http.Protocols)}
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	mu.Unlock()
	r, report = runBench(t, "-n", "20", "-c", "2", "-m", "4", "-B", "unix:"+sock, "http://example.org/u")
	mu.Lock()
	if r.Requests.Succeeded != 20 || seen["example.org/u"] != 20 || r.Connections.Made != 2 {
		t.Fatalf("%+v %v\n%s", r.Requests, seen, report)
	}
	for _, bad := range [][]string{{"-B", "ftp://h/", "/a"}, {"/a"}, {"-B", "unix:", "http://h/"}} {
		if _, err := parseArgs(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTimingScript replays a timing script: every client issues line k at
// its start + the line's offset, on the line's URI; -n is per client.
func TestTimingScript(t *testing.T) {
	type hit struct {
		conn, path string
		at         time.Time
	}
	var mu sync.Mutex
	var hits []hit
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, hit{r.RemoteAddr, r.URL.Path, time.Now()})
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	script := filepath.Join(t.TempDir(), "script")
	// the third line is earlier than the second: it goes right after it
	lines := "0\t" + url + "/a\n200.5\t" + url + "/b\n100\t" + url + "/c\n400\t" + url + "/d\n"
	os.WriteFile(script, []byte(lines), 0o644)
	before := time.Now()
	r, report := runBench(t, "--timing-script-file", script, "-c", "2", "-m", "4", "http://ignored.invalid/")
	mu.Lock()
	defer mu.Unlock()
	if r.Requests.Total != 8 || r.Requests.Succeeded != 8 || len(hits) != 8 {
		t.Fatalf("%+v, server saw %d\n%s", r.Requests, len(hits), report)
	}
	// What must hold: no line reaches the server before its offset from the
	// run's start (a loaded machine can delay, never advance); each
	// connection carries each line once. Upper bounds are loose.
	want := map[string]time.Duration{"/a": 0, "/b": 200500 * time.Microsecond, "/c": 200500 * time.Microsecond, "/d": 400 * time.Millisecond}
	perConn := map[string]map[string]int{}
	for _, h := range hits {
		d := h.at.Sub(before)
		if d < want[h.path] || d > want[h.path]+3*time.Second {
			t.Fatalf("%s reached the server %v after the start, want %v", h.path, d, want[h.path])
		}
		if perConn[h.conn] == nil {
			perConn[h.conn] = map[string]int{}
		}
		perConn[h.conn][h.path]++
	}
	if len(perConn) != 2 {
		t.Fatalf("%d connections", len(perConn))
	}
	for _, m := range perConn {
		if len(m) != 4 || m["/a"] != 1 || m["/b"] != 1 || m["/c"] != 1 || m["/d"] != 1 {
			t.Fatalf("a connection carried %v", m)
		}
	}
	// -n is per client and clamped to the script's lines
	hits = nil
	mu.Unlock()
	r, _ = runBench(t, "--timing-script-file", script, "-c", "3", "-n", "2")
	mu.Lock()
	if r.Requests.Succeeded != 6 || len(hits) != 6 {
		t.Fatalf("-n 2 -c 3: %+v", r.Requests)
	}
	for _, h := range hits {
		if h.path != "/a" && h.path != "/b" {
			t.Fatalf("-n 2 sent %s", h.path)
		}
	}
	cfg, err := parseArgs([]string{"--timing-script-file", script, "-n", "100", "-c", "2"}, nil)
	if err != nil || cfg.nreqs != 8 || len(cfg.timings) != 4 || cfg.timings[1] != 200500000 || cfg.timings[2] != 200500000 {
		t.Fatalf("%v %+v", err, cfg)
	}
	for _, bad := range [][]string{{"--timing-script-file", script, "--rps", "1"}, {"--timing-script-file", script, "-R", "10"}, {"--timing-script-file", filepath.Join(t.TempDir(), "none")}} {
		if _, err := parseArgs(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	os.WriteFile(script, []byte("x\t/a\n"), 0o644)
	if _, err := parseArgs([]string{"--timing-script-file", script}, nil); err == nil {
		t.Error("bad script accepted")
	}
}
