package main

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/internal/testutil"
)

// -debug serves the server's Prometheus metrics on /metrics.
func TestDebugMetrics(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p := startHelloProc(t, bin, "-debug", "127.0.0.1:0")
	addr, debug := p.addr, p.debugAddr
	c := testutil.H2CClient()
	for range 5 {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// Connections close asynchronously: poll until the open-connection
	// gauge has counted them out.
	wants := []string{
		"# TYPE h2loop_requests_total counter\nh2loop_requests_total 5\n",
		"# TYPE h2loop_connections_total counter\nh2loop_connections_total 1\n",
		"# TYPE h2loop_open_connections gauge\nh2loop_open_connections 1\n",
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + debug + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing := ""
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				missing = want
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, body)
		}
	}
}
