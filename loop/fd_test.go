//go:build !windows

package loop

import (
	"testing"

	"github.com/cloudwego/netpoll"
)

// TestFDPollers checks what the fd reactor takes from netpoll by name
// (loop/fd.go): the poller registry and its Pick. A netpoll upgrade that
// renames or reshapes them fails here (or at link time) instead of at the
// first connection.
func TestFDPollers(t *testing.T) {
	if netpollManager == nil {
		t.Fatal("github.com/cloudwego/netpoll.pollmanager is nil: the netpoll version in go.mod no longer has the poller registry loop/fd.go links to by name")
	}
	seen := map[netpoll.Poll]bool{}
	for range 8 {
		p, ps, err := pickPoller()
		if err != nil || p == nil || ps == nil || len(ps.buf) != fdScratchSize {
			t.Fatalf("pickPoller: %v %v %v: netpoll's (*manager).Pick, linked by name in loop/fd.go, does not return its pollers", p, ps, err)
		}
		seen[p] = true
		op := p.Alloc() // what an operator of ours is made with
		if op == nil {
			t.Fatal("Poll.Alloc returned nil")
		}
		op.Free()
	}
	t.Logf("%d poller(s)", len(seen))
}
