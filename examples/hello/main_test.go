package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2loop/h2loop/internal/testutil"
)

// The contract of the doc comment, checked against the built binary, the
// way outside tools drive it: flags, endpoints, protocols, and a clean exit
// on SIGTERM.

func TestContract(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// -addr's default is part of the contract.
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	if !strings.Contains(string(out), `-addr string`) || !strings.Contains(string(out), `(default "127.0.0.1:8080")`) {
		t.Fatalf("-h does not show -addr with default 127.0.0.1:8080:\n%s", out)
	}

	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) {
			args := []string{"-addr", "127.0.0.1:0"}
			if inline {
				args = append(args, "-inline")
			}
			p := startHelloProc(t, bin, args...)
			addr, cmd, exited := p.addr, p.cmd, p.exited
			base := "http://" + addr
			h2 := testutil.H2CClient()
			checkEndpoints(t, h2, base, 2, inline)
			checkEndpoints(t, &http.Client{Timeout: 30 * time.Second}, base, 1, inline)

			// HTTP/1.1 Upgrade to h2c, as curl --http2 does it.
			curl := testutil.Tool(t, "curl")
			out, err := exec.Command(curl, "-sS", "--http2", "-w", "|%{http_version}", base+"/").CombinedOutput()
			if err != nil || string(out) != "hello, world!\n|2" {
				t.Fatalf("curl --http2 (upgrade): %v %q", err, out)
			}

			// SIGTERM: graceful shutdown, exit status 0.
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				exited <- err
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("no exit within 15 s of SIGTERM")
			}
		})
	}
}

// checkEndpoints drives every endpoint over HTTP/proto.
func checkEndpoints(t *testing.T, c *http.Client, base string, proto int, inline bool) {
	t.Helper()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: body: %v", path, err)
		}
		if resp.ProtoMajor != proto {
			t.Fatalf("GET %s over HTTP/%d, want HTTP/%d", path, resp.ProtoMajor, proto)
		}
		return resp, b
	}

	resp, b := get("/")
	if resp.StatusCode != 200 || string(b) != "hello, world!\n" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("GET /: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}

	for _, n := range []int{0, 1, 26, 16385, 1 << 20} {
		resp, b := get("/bytes/" + strconv.Itoa(n))
		if resp.StatusCode != 200 || len(b) != n || resp.Header.Get("Content-Length") != strconv.Itoa(n) {
			t.Fatalf("GET /bytes/%d: %d, %d bytes, content-length %q", n, resp.StatusCode, len(b), resp.Header.Get("Content-Length"))
		}
		for i, ch := range b {
			if ch != 'a'+byte(i%26) {
				t.Fatalf("GET /bytes/%d: byte %d = %q", n, i, ch)
			}
		}
	}

	// GET /hints: a 103 with the preload link, then the 200.
	var hints []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == 103 {
			hints = append(hints, h.Values("Link")...)
		}
		return nil
	}}
	hreq, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", base+"/hints", nil)
	hresp, err := c.Do(hreq)
	if err != nil {
		t.Fatalf("GET /hints: %v", err)
	}
	hb, _ := io.ReadAll(hresp.Body)
	hresp.Body.Close()
	if hresp.StatusCode != 200 || string(hb) != "hinted\n" || len(hints) != 1 || hints[0] != "</bytes/1000>; rel=preload; as=fetch; crossorigin" {
		t.Fatalf("GET /hints over HTTP/%d: %d %q, 103 links %q", proto, hresp.StatusCode, hb, hints)
	}

	// GET /push: Go's client refuses push; the response is the same.
	if resp, b := get("/push"); resp.StatusCode != 200 || string(b) != "pushed\n" {
		t.Fatalf("GET /push: %d %q", resp.StatusCode, b)
	}

	resp, _ = get("/nope")
	if resp.StatusCode != 404 {
		t.Fatalf("GET /nope: %d", resp.StatusCode)
	}

	// POST /echo returns the body; over HTTP/2 it answers as the body
	// streams in: the first part comes back before the rest is sent.
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	resp, err = c.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("POST /echo: %d, %d bytes back of %d", resp.StatusCode, len(got), len(body))
	}
	if proto == 2 {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", base+"/echo", pr)
		done := make(chan *http.Response, 1)
		go func() {
			resp, err := c.Do(req)
			if err != nil {
				pw.CloseWithError(err)
				close(done)
				return
			}
			done <- resp
		}()
		pw.Write([]byte("first part "))
		resp := <-done
		if resp == nil {
			t.Fatal("POST /echo (streaming): no response")
		}
		first := make([]byte, len("first part "))
		if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first part " {
			t.Fatalf("POST /echo (streaming): %q, %v before the body ended", first, err)
		}
		pw.Write([]byte("second part"))
		pw.Close()
		rest, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(rest) != "second part" {
			t.Fatalf("POST /echo (streaming): rest %q", rest)
		}
	}

	// GET /delay/MS answers after MS ms; over HTTP/2 other streams on the
	// connection are not held up meanwhile (not with -inline, whose
	// documented cost is exactly that).
	start := time.Now()
	delayed := make(chan error, 1)
	go func() {
		resp, err := c.Get(base + "/delay/300")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		delayed <- err
	}()
	if proto == 2 && !inline {
		time.Sleep(50 * time.Millisecond) // the delayed request is in flight
		get("/")
		select {
		case err := <-delayed:
			t.Fatalf("GET / waited for /delay/300 (which ended with %v)", err)
		default:
		}
	}
	if err := <-delayed; err != nil {
		t.Fatalf("GET /delay/300: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("GET /delay/300 answered after %v", d)
	}
}

// Node's built-in HTTP/2 client with a 2 KiB stream window and 200
// concurrent streams, half of them /echo uploads of 200-500 KB, against the
// binary after an h2load run that passes and leaves idle workers. Before,
// about half the echoes stalled forever after 32-48 KB of response (status
// 200, no END_STREAM, no RST_STREAM): the pool counted one idle worker for
// several handlers, so some echoes waited behind running ones whose bodies
// could not move.
func TestNodeClientSmallWindow(t *testing.T) {
	node := testutil.Tool(t, "node")
	h2load := testutil.Tool(t, "h2load")
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := startHelloProc(t, bin).addr
	body := filepath.Join(t.TempDir(), "4k")
	if err := os.WriteFile(body, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(h2load, "-n", "20000", "-c", "8", "-m", "8", "-d", body, "http://"+addr+"/echo").CombinedOutput(); err != nil || !strings.Contains(string(out), "20000 succeeded") {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	out, err := exec.Command(node, "testdata/node_small_window.js", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("node client: %v\n%s", err, out)
	}
	t.Logf("node client: %s", bytes.TrimSpace(out))
}
