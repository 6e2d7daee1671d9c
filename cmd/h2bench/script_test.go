//go:build linux

package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
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
	r, report := runBench(t, "--timing-script-file", script, "-c", "2", "-m", "4", "http://ignored.invalid/")
	mu.Lock()
	defer mu.Unlock()
	if r.Requests.Total != 8 || r.Requests.Succeeded != 8 || len(hits) != 8 {
		t.Fatalf("%+v, server saw %d\n%s", r.Requests, len(hits), report)
	}
	byConn := map[string][]hit{}
	for _, h := range hits {
		byConn[h.conn] = append(byConn[h.conn], h)
	}
	if len(byConn) != 2 {
		t.Fatalf("%d connections", len(byConn))
	}
	for _, hs := range byConn {
		sort.Slice(hs, func(i, j int) bool { return hs[i].at.Before(hs[j].at) })
		var paths []string
		for _, h := range hs {
			paths = append(paths, h.path)
		}
		if strings.Join(paths[1:3], "") != "/b/c" && strings.Join(paths[1:3], "") != "/c/b" || paths[0] != "/a" || paths[3] != "/d" {
			t.Fatalf("order %v", paths)
		}
		// what must hold: nothing is sent before its offset; loose upper
		// bounds only (a loaded machine delays, never advances)
		if d := hs[1].at.Sub(hs[0].at); d < 190*time.Millisecond || d > 2*time.Second {
			t.Fatalf("line 2 came %v after line 1, want 200.5 ms", d)
		}
		if d := hs[3].at.Sub(hs[0].at); d < 390*time.Millisecond || d > 3*time.Second {
			t.Fatalf("line 4 came %v after line 1, want 400 ms", d)
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
	for _, bad := range [][]string{{"--timing-script-file", script, "--rps", "1"}, {"--timing-script-file", filepath.Join(t.TempDir(), "none")}} {
		if _, err := parseArgs(bad, nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	os.WriteFile(script, []byte("x\t/a\n"), 0o644)
	if _, err := parseArgs([]string{"--timing-script-file", script}, nil); err == nil {
		t.Error("bad script accepted")
	}
}
