package loop

import (
	"testing"
	"time"
)

// listed is a closer that keeps its position in the Core's list.
type listed struct {
	id  int
	reg int32
}

func (l *listed) regSlot() *int32 { return &l.reg }
func (l *listed) tick(time.Time)  {}
func (l *listed) shutdown()       {}
func (l *listed) close()          {}
func (l *listed) idle() bool      { return true }

// sharing uses another connection's slot, as a protocol uses its fd
// connection's.
type sharing struct {
	listed
	slot *int32
}

func (s *sharing) regSlot() *int32 { return s.slot }

// mapped is a closer kept in the Core's map.
type mapped struct{ listed }

func (m *mapped) regSlot() *int32 { return nil }

// TestRegistry adds and removes connections of both kinds in every order
// and checks after each step that the Core holds exactly the live ones and
// that every listed connection knows its position.
func TestRegistry(t *testing.T) {
	c := &Core{conns: make(map[closer]struct{})}
	c.tickOnce.Do(func() {}) // no ticker
	live := map[closer]bool{}
	check := func(step string) {
		t.Helper()
		if n := c.Conns(); n != len(live) {
			t.Fatalf("%s: Conns() = %d, want %d", step, n, len(live))
		}
		got := c.snapshot()
		seen := map[closer]bool{}
		for _, x := range got {
			if !live[x] || seen[x] {
				t.Fatalf("%s: snapshot holds %v (live %v, twice %v)", step, x, live[x], seen[x])
			}
			seen[x] = true
		}
		for i, x := range c.list {
			if s := slotOf(x); s == nil || int(*s) != i+1 {
				t.Fatalf("%s: list[%d] has slot %v", step, i, s)
			}
		}
	}
	var all []closer
	for i := range 50 {
		var x closer = &listed{id: i}
		if i%5 == 0 {
			x = &mapped{listed{id: i}}
		}
		all = append(all, x)
		if !c.add(x) {
			t.Fatal("add refused")
		}
		live[x] = true
		check("add")
	}
	// Remove in a scattered order, some twice: a second remove is a no-op.
	for k := range 2 * len(all) {
		x := all[(k*17)%len(all)]
		c.remove(x)
		delete(live, x)
		check("remove")
		if s := slotOf(x); s != nil && *s != 0 {
			t.Fatalf("removed connection keeps slot %d", *s)
		}
	}
	if len(c.list) != 0 || len(c.conns) != 0 {
		t.Fatalf("after removing all: %d listed, %d mapped", len(c.list), len(c.conns))
	}
	// A slot handed from one connection to the next (an fd connection to
	// its protocol): removing the first again leaves the second listed.
	a := &listed{id: 1}
	b := &sharing{listed{id: 2}, &a.reg}
	c.add(&listed{id: 3})
	c.add(a)
	c.remove(a)
	c.add(b)
	c.remove(a)
	if c.Conns() != 2 || c.list[1] != closer(b) || a.reg != 2 {
		t.Fatalf("a stale remove took the wrong connection: %v", c.list)
	}
}
