package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// startHello runs the command with args plus -addr on a free port and
// returns the address.
func startHello(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(helloBin(t), append([]string{"-addr", addr}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitListening(t, addr)
	return addr
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
	addr := startHello(t)
	out := nghttpFrames(t, "http://"+addr+"/hints")
	re := regexp.MustCompile(`(?s)recv \(stream_id=13\) :status: 103\n\s*\[[ 0-9.]+\] recv \(stream_id=13\) link: </bytes/1000>; rel=preload; as=fetch; crossorigin\n\s*\[[ 0-9.]+\] recv HEADERS frame <length=\d+, flags=0x04, stream_id=13>.*?recv \(stream_id=13\) :status: 200\n.*?\bhinted\n\s*\[[ 0-9.]+\] recv DATA frame <length=7, flags=0x01, stream_id=13>`)
	if !re.MatchString(out) {
		t.Fatalf("nghttp -v did not show 103 (link) then 200 \"hinted\":\n%s", out)
	}
	if strings.Count(out, ":status: 103") != 1 {
		t.Fatalf("want one 103:\n%s", out)
	}
}
