package h2loop_test

import (
	"net"
	"os/exec"
	"regexp"
	"testing"

	"github.com/h2loop/h2loop/internal/testutil"
)

var h2specSummary = regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`)

// TestH2spec runs the h2spec v2.2.1 conformance suite in strict mode against
// the server: every one of its 146 cases must pass.
func TestH2spec(t *testing.T) {
	h2spec := testutil.Tool(t, "h2spec")
	addr, _ := startServer(t, nil)
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(h2spec, "-S", "-h", host, "-p", port, "-o", "5").CombinedOutput()
	m := h2specSummary.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("h2spec: %v\n%s", err, out)
	}
	if m[1] != "146" || m[2] != "146" || m[4] != "0" {
		t.Fatalf("h2spec: %s\n%s", m[0], out)
	}
	t.Logf("h2spec -S: %s", m[0])
}
