package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/h2loop/h2loop/internal/testutil"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildOut  []byte
)

// TestMain removes the command helloBin built once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// helloBin builds the command once for the tests of this file.
func helloBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hello-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "hello")
		buildOut, buildErr = exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return builtBin
}

// startHello runs the command with args on ports it picks and returns
// once it serves.
func startHello(t *testing.T, args ...string) *helloProc {
	t.Helper()
	return startHelloProc(t, helloBin(t), args...)
}

// nghttpFrames runs nghttp -v (plus args) on url and returns its output.
func nghttpFrames(t *testing.T, args ...string) string {
	t.Helper()
	nghttp := testutil.Tool(t, "nghttp")
	out, err := exec.Command(nghttp, append([]string{"-v"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestHintsNghttp: nghttp sees the 103 with its link field, then the final
// 200 and its body, on the same stream.
func TestHintsNghttp(t *testing.T) {
	addr := startHello(t).addr
	out := nghttpFrames(t, "http://"+addr+"/hints")
	re := regexp.MustCompile(`(?s)recv \(stream_id=13\) :status: 103\n\s*\[[ 0-9.]+\] recv \(stream_id=13\) link: </bytes/1000>; rel=preload; as=fetch; crossorigin\n\s*\[[ 0-9.]+\] recv HEADERS frame <length=\d+, flags=0x04, stream_id=13>.*?recv \(stream_id=13\) :status: 200\n.*?\bhinted\n\s*\[[ 0-9.]+\] recv DATA frame <length=7, flags=0x01, stream_id=13>`)
	if !re.MatchString(out) {
		t.Fatalf("nghttp -v did not show 103 (link) then 200 \"hinted\":\n%s", out)
	}
	if strings.Count(out, ":status: 103") != 1 {
		t.Fatalf("want one 103:\n%s", out)
	}
}

// selfSignedFiles writes a self-signed certificate for 127.0.0.1 and
// localhost and its key, and returns their paths.
func selfSignedFiles(t *testing.T) (certFile, keyFile string) { return testutil.SelfSignedFiles(t) }

var (
	h2benchOnce sync.Once
	h2benchBin  string
	h2benchErr  error
	h2benchOut  []byte
)

// h2bench builds the project's load generator (its -v prints ALTSVC and
// ORIGIN frames).
func h2bench(t *testing.T) string {
	t.Helper()
	h2benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "h2bench-bin")
		if err != nil {
			h2benchErr = err
			return
		}
		h2benchBin = filepath.Join(dir, "h2bench")
		h2benchOut, h2benchErr = exec.Command("go", "build", "-o", h2benchBin, "../../cmd/h2bench").CombinedOutput()
	})
	if h2benchErr != nil {
		t.Fatalf("go build h2bench: %v\n%s", h2benchErr, h2benchOut)
	}
	return h2benchBin
}

// TestAltSvcOrigin: -altsvc sends ALTSVC on stream 0 for the connection's
// origin on every connection (cleartext and TLS); -origin sends ORIGIN on
// TLS connections only. Checked with nghttp -v and h2bench -v.
func TestAltSvcOrigin(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("h2bench runs on Linux only")
	}
	certFile, keyFile := selfSignedFiles(t)
	const alt = `h2="alt.example.com:443"; ma=60`
	p := startHello(t, "-altsvc", alt, "-origin", "https://127.0.0.1, https://localhost",
		"-tls-addr", "127.0.0.1:0", "-cert", certFile, "-key", keyFile)
	addr, tlsAddr := p.addr, p.tlsAddr

	for _, c := range []struct {
		url    string
		origin bool
	}{{"http://" + addr + "/", false}, {"https://" + tlsAddr + "/", true}} {
		out := nghttpFrames(t, c.url)
		org := strings.TrimSuffix(c.url, "/")
		wantAlt := regexp.MustCompile(`recv ALTSVC frame <length=` + strconv.Itoa(2+len(org)+len(alt)) +
			`, flags=0x00, stream_id=0>\s+\(origin=\[` + regexp.QuoteMeta(org) + `\], altsvc_field_value=\[` + regexp.QuoteMeta(alt) + `\]\)`)
		if !wantAlt.MatchString(out) {
			t.Fatalf("nghttp %s: no %v:\n%s", c.url, wantAlt, out)
		}
		hasOrigin := regexp.MustCompile(`recv ORIGIN frame <length=38, flags=0x00, stream_id=0>\s+\[https://127\.0\.0\.1\]\s+\[https://localhost\]\n`).MatchString(out)
		if hasOrigin != c.origin || strings.Count(out, "recv ALTSVC") != 1 {
			t.Fatalf("nghttp %s: ORIGIN shown %v, want %v (and one ALTSVC):\n%s", c.url, hasOrigin, c.origin, out)
		}
		bout, err := exec.Command(h2bench(t), "-k", "-n", "2", "-c", "1", "-v", c.url).CombinedOutput()
		if err != nil {
			t.Fatalf("h2bench %s: %v\n%s", c.url, err, bout)
		}
		wantB := fmt.Sprintf("recv ALTSVC stream_id=0 origin=%q value=%q\n", strings.TrimSuffix(c.url, "/"), alt)
		if !strings.Contains(string(bout), wantB) || !strings.Contains(string(bout), "2 succeeded") {
			t.Fatalf("h2bench -v %s: no %q:\n%s", c.url, wantB, bout)
		}
		if got := strings.Contains(string(bout), "recv ORIGIN https://127.0.0.1 https://localhost\n"); got != c.origin {
			t.Fatalf("h2bench -v %s: ORIGIN shown %v, want %v:\n%s", c.url, got, c.origin, bout)
		}
	}
}

// TestPushNghttp: nghttp (push on by default) gets the PUSH_PROMISE for
// /bytes/1000 on the request's stream and the pushed response on stream 2;
// with --no-push, and with h2bench (which refuses push), just the 200.
func TestPushNghttp(t *testing.T) {
	addr := startHello(t).addr
	out := nghttpFrames(t, "-a", "http://"+addr+"/push")
	re := regexp.MustCompile(`(?s)recv \(stream_id=13\) :path: /bytes/1000\n\s*\[[ 0-9.]+\] recv PUSH_PROMISE frame <length=\d+, flags=0x04, stream_id=13>.*?promised_stream_id=2\).*?\bpushed\n.*?recv \(stream_id=2\) :status: 200\n.*?recv DATA frame <length=1000, flags=0x01, stream_id=2>`)
	if !re.MatchString(out) {
		t.Fatalf("nghttp -a: no PUSH_PROMISE /bytes/1000 and pushed response:\n%s", out)
	}
	out = nghttpFrames(t, "--no-push", "http://"+addr+"/push")
	if strings.Contains(out, "PUSH_PROMISE") || !strings.Contains(out, "pushed\n") {
		t.Fatalf("nghttp --no-push:\n%s", out)
	}
	if runtime.GOOS == "linux" {
		bout, err := exec.Command(h2bench(t), "-n", "50", "-c", "2", "-m", "5", "http://"+addr+"/push").CombinedOutput()
		if err != nil || !strings.Contains(string(bout), "50 succeeded") {
			t.Fatalf("h2bench (no push): %v\n%s", err, bout)
		}
	}
}
