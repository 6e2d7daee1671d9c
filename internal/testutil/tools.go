// Package testutil holds helpers shared by tests: locating outside tools and
// starting servers on loopback.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of an outside program the test drives. When it is
// missing the test is skipped with a message, or fails if
// H2LOOP_REQUIRE_TOOLS=1 (as in CI), so a missing tool never passes silently.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		if p := filepath.Join(gp, "bin", name); fileExists(p) {
			return p
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", name); fileExists(p) {
			return p
		}
	}
	if os.Getenv("H2LOOP_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s is not installed (H2LOOP_REQUIRE_TOOLS=1)", name)
	}
	t.Skipf("SKIP: %s is not installed; set H2LOOP_REQUIRE_TOOLS=1 to make this a failure", name)
	return ""
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
