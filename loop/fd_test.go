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

// TestFDCallbacks checks the callbacks bindCallbacks makes without
// allocating (loop/fd_callbacks.go): each one must run its method on its
// own connection. If a Go release lays method values out otherwise, this
// fails (or crashes) here, naming the cause.
func TestFDCallbacks(t *testing.T) {
	const cause = "(loop/fd_callbacks.go builds method values by hand: the layout of Go's method values changed?)"
	newConn := func() (*fdConn, *netpoll.FDOperator) {
		core := &Core{conns: make(map[closer]struct{})}
		core.reap.init()
		c := &fdConn{core: core, ps: &pollState{buf: make([]byte, 64)}, fd: -1, fdClosed: true}
		op := &netpoll.FDOperator{}
		c.bindCallbacks(op)
		return c, op
	}
	// OnRead on a lingering connection discards input: the read fails
	// (the descriptor is closed), so the connection is gone and queued
	// for its close.
	a, opA := newConn()
	b, _ := newConn()
	a.state.Store(fdLingering)
	if err := opA.OnRead(nil); err != nil {
		t.Fatal(err)
	}
	if st := a.state.Load(); st&(fdPeerDone|fdQueued) != fdPeerDone|fdQueued || a.core.reap.now != a {
		t.Fatalf("OnRead did not run onRead on its connection: state %#x, queued %p, want %p %s", st, a.core.reap.now, a, cause)
	}
	if b.state.Load() != 0 {
		t.Fatalf("OnRead of one connection changed another %s", cause)
	}
	// OnHup closes at once.
	hb, ophb := newConn()
	if err := ophb.OnHup(nil); err != nil {
		t.Fatal(err)
	}
	if hb.state.Load()&fdClosing == 0 || hb.core.open.Load() != -1 {
		t.Fatalf("OnHup did not run onHup on its connection: state %#x, open %d %s", hb.state.Load(), hb.core.open.Load(), cause)
	}
	// OnWrite on a closed connection does nothing, and returns nil.
	w, opw := newConn()
	if err := opw.OnWrite(nil); err != nil || w.state.Load() != 0 {
		t.Fatalf("OnWrite: %v, state %#x %s", err, w.state.Load(), cause)
	}
	// Binding allocates nothing.
	c, op := newConn()
	if n := testing.AllocsPerRun(100, func() { c.bindCallbacks(op) }); n != 0 {
		t.Fatalf("bindCallbacks: %v allocations, want 0", n)
	}
}
