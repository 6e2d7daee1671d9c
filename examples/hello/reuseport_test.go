package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2loop/h2loop/internal/testutil"
)

// pidOf asks addr for /pid on a new connection, over HTTP/2 (h2c) or HTTP/1.1.
func pidOf(addr string, h2 bool) (int, error) {
	var c *http.Client
	if h2 {
		c = testutil.H2CClient()
	} else {
		c = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + addr + "/pid")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
}

// Two hello processes with -reuseport listen on one port: new connections
// are spread over both, a process without -reuseport cannot join, and when
// one process gets SIGTERM it finishes its in-flight request and exits 0
// while the other goes on serving every new connection.
func TestReusePortTwoProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the kernel spreads connections over SO_REUSEPORT listeners on Linux only")
	}
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	a := startHelloProc(t, bin, "-addr", "127.0.0.1:0", "-reuseport")
	addr := a.addr
	b := startHelloProc(t, bin, "-addr", addr, "-reuseport")
	pidA, pidB := a.cmd.Process.Pid, b.cmd.Process.Pid

	// Spread: new connections reach both processes (the kernel hashes each
	// connection's addresses and ports; B may take a moment to listen).
	seen := map[int]int{}
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; seen[pidA] == 0 || seen[pidB] == 0 || i < 200; i++ {
		pid, err := pidOf(addr, i%2 == 0)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if pid != pidA && pid != pidB {
			t.Fatalf("/pid answered %d, want %d or %d", pid, pidA, pidB)
		}
		seen[pid]++
		if time.Now().After(deadline) {
			t.Fatalf("after %d connections: %v (A %d, B %d): not served by both\nA: %s\nB: %s", i+1, seen, pidA, pidB, &a.stderr, &b.stderr)
		}
	}
	t.Logf("connections served: A %d, B %d", seen[pidA], seen[pidB])

	// Without -reuseport a third process cannot bind the port.
	c := launchHello(t, bin, "-addr", addr)
	select {
	case err := <-c.exited:
		c.exited <- err
		if err == nil || !strings.Contains(c.stderr.String(), "address already in use") {
			t.Fatalf("hello without -reuseport on a shared port: %v, %s", err, &c.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hello without -reuseport still runs on a port taken by two -reuseport processes")
	}

	// Find a connection that A serves and start a slow request on it.
	var slow *http.Client
	for i := 0; slow == nil; i++ {
		cl := testutil.H2CClient()
		resp, err := cl.Get("http://" + addr + "/pid")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) == strconv.Itoa(pidA)+"\n" {
			slow = cl
		} else {
			cl.CloseIdleConnections()
		}
		if i > 1000 {
			t.Fatal("no connection reached A")
		}
	}
	slowDone := make(chan error, 1)
	go func() {
		resp, err := slow.Get("http://" + addr + "/delay/1000")
		if err == nil {
			var body []byte
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && (resp.StatusCode != 200 || string(body) != "delayed 1000ms\n") {
				err = &unexpected{resp.Status, string(body)}
			}
		}
		slowDone <- err
	}()
	time.Sleep(200 * time.Millisecond) // the request reaches A's handler
	a.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-slowDone; err != nil {
		t.Fatalf("request in flight on the process that got SIGTERM: %v", err)
	}
	select {
	case err := <-a.exited:
		a.exited <- err
		if err != nil {
			t.Fatalf("A exit after SIGTERM: %v\n%s", err, &a.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("A did not exit within 30 s of SIGTERM")
	}

	// B alone serves every new connection.
	for i := range 100 {
		pid, err := pidOf(addr, i%2 == 0)
		if err != nil {
			t.Fatalf("after A exited, connection %d: %v", i, err)
		}
		if pid != pidB {
			t.Fatalf("after A exited, /pid answered %d, want B's %d", pid, pidB)
		}
	}
}

type unexpected struct{ status, body string }

func (u *unexpected) Error() string { return "unexpected response " + u.status + " " + u.body }
