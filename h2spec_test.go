package h2loop_test

import (
	"net"
	"os/exec"
	"regexp"
	"testing"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/internal/testutil"
)

var h2specSummary = regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`)

// TestH2spec runs the h2spec v2.2.1 conformance suite in strict mode against
// the server, over cleartext (prior knowledge) and over TLS (ALPN h2):
// every one of its 146 cases must pass on both.
func TestH2spec(t *testing.T) {
	h2spec := testutil.Tool(t, "h2spec")
	t.Run("h2c", func(t *testing.T) {
		addr, _ := startServer(t, nil)
		runH2spec(t, h2spec, addr)
	})
	t.Run("tls", func(t *testing.T) {
		addr, _ := startTLSServer(t, h2loop.HandlerFunc(helloHandler), nil)
		runH2spec(t, h2spec, addr, "-t", "-k")
	})
}

func runH2spec(t *testing.T, h2spec, addr string, args ...string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(h2spec, append([]string{"-S", "-h", host, "-p", port, "-o", "5"}, args...)...).CombinedOutput()
	m := h2specSummary.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("h2spec: %v\n%s", err, out)
	}
	if m[1] != "146" || m[2] != "146" || m[4] != "0" {
		t.Fatalf("h2spec: %s\n%s", m[0], out)
	}
	t.Logf("h2spec -S %v: %s", args, m[0])
}
