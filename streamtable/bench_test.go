package streamtable

import (
	"fmt"
	"testing"
)

// benchRec is about the size of the engine's stream record.
type benchRec struct {
	id    uint32
	state uint8
	send  [3]int64
	recv  [3]int64
	req   *int
	flags [4]bool
	clen  int64
}

// churner models an HTTP/2 connection: each step opens the next odd client
// stream id and, once `live` streams are open, finishes the oldest one.
type churner struct {
	ring []uint32 // live ids, ring[head] is the oldest once full
	head int
	next uint32
}

func newChurner(live int) *churner {
	return &churner{ring: make([]uint32, 0, live), next: 1}
}

// step returns the id to open and the id to finish first (0 if none yet).
func (c *churner) step() (open, finish uint32) {
	open = c.next
	c.next += 2
	if c.next > 1<<31-1 {
		c.next = 1
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, open)
		return open, 0
	}
	finish = c.ring[c.head]
	c.ring[c.head] = open
	c.head++
	if c.head == len(c.ring) {
		c.head = 0
	}
	return open, finish
}

// churnTable does one step of churn on a Table.
func churnTable(tab *Table[benchRec], c *churner) {
	open, finish := c.step()
	if finish != 0 && !tab.Delete(finish) {
		panic("Delete failed")
	}
	v, err := tab.Insert(open)
	if err != nil {
		panic(err)
	}
	v.id = open
}

// churnMap does the same step on a map[uint32]*V with a fresh record per
// stream, as a map-based server does (x/net/http2 keeps map[uint32]*stream).
func churnMap(m map[uint32]*benchRec, c *churner) {
	open, finish := c.step()
	if finish != 0 {
		delete(m, finish)
	}
	v := new(benchRec)
	v.id = open
	m[open] = v
}

// churnMapPooled keeps records in a preallocated free list so the map alone
// is measured.
func churnMapPooled(m map[uint32]*benchRec, free *[]*benchRec, c *churner) {
	open, finish := c.step()
	if finish != 0 {
		v := m[finish]
		delete(m, finish)
		*v = benchRec{}
		*free = append(*free, v)
	}
	f := *free
	v := f[len(f)-1]
	*free = f[:len(f)-1]
	v.id = open
	m[open] = v
}

const benchLive = 100

// warmTable returns a table of the given capacity in steady-state churn.
func warmTable(capacity int) (*Table[benchRec], *churner) {
	tab := New[benchRec](capacity)
	c := newChurner(benchLive)
	for range 10 * capacity {
		churnTable(tab, c)
	}
	return tab, c
}

func warmMap() (map[uint32]*benchRec, *churner) {
	m := make(map[uint32]*benchRec, benchLive)
	c := newChurner(benchLive)
	for range 10 * benchLive {
		churnMap(m, c)
	}
	return m, c
}

// BenchmarkChurn measures one stream lifetime: Insert of a new id plus
// Delete of the oldest, with ~100 streams live.
func BenchmarkChurn(b *testing.B) {
	for _, capacity := range []int{128, 256} {
		b.Run(fmt.Sprintf("table/cap%d", capacity), func(b *testing.B) {
			tab, c := warmTable(capacity)
			b.ReportAllocs()
			for b.Loop() {
				churnTable(tab, c)
			}
		})
	}
	b.Run("map", func(b *testing.B) {
		m, c := warmMap()
		b.ReportAllocs()
		for b.Loop() {
			churnMap(m, c)
		}
	})
	b.Run("map-pooled", func(b *testing.B) {
		m, c := warmMap()
		free := make([]*benchRec, 0, 2*benchLive)
		for range 2 * benchLive {
			free = append(free, new(benchRec))
		}
		b.ReportAllocs()
		for b.Loop() {
			churnMapPooled(m, &free, c)
		}
	})
}

// liveIDs returns the ids live in c, for lookups.
func liveIDs(c *churner) []uint32 { return append([]uint32(nil), c.ring...) }

// missIDs returns ids near the live ones that are not live: even ids (server
// push ids) and odd ids just above the window.
func missIDs(c *churner) []uint32 {
	ids := make([]uint32, 0, 2*len(c.ring))
	for i, id := range c.ring {
		ids = append(ids, id+1, c.next+2*uint32(i))
	}
	return ids
}

// BenchmarkGetHit looks up live ids.
func BenchmarkGetHit(b *testing.B) {
	for _, capacity := range []int{128, 256} {
		b.Run(fmt.Sprintf("table/cap%d", capacity), func(b *testing.B) {
			tab, c := warmTable(capacity)
			ids := liveIDs(c)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if tab.Get(ids[i]) == nil {
					b.Fatal("miss")
				}
				if i++; i == len(ids) {
					i = 0
				}
			}
		})
	}
	b.Run("map", func(b *testing.B) {
		m, c := warmMap()
		ids := liveIDs(c)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if m[ids[i]] == nil {
				b.Fatal("miss")
			}
			if i++; i == len(ids) {
				i = 0
			}
		}
	})
}

// BenchmarkGetMiss looks up absent ids next to live ones.
func BenchmarkGetMiss(b *testing.B) {
	for _, capacity := range []int{128, 256} {
		b.Run(fmt.Sprintf("table/cap%d", capacity), func(b *testing.B) {
			tab, c := warmTable(capacity)
			ids := missIDs(c)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if tab.Get(ids[i]) != nil {
					b.Fatal("hit")
				}
				if i++; i == len(ids) {
					i = 0
				}
			}
		})
	}
	b.Run("map", func(b *testing.B) {
		m, c := warmMap()
		ids := missIDs(c)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if m[ids[i]] != nil {
				b.Fatal("hit")
			}
			if i++; i == len(ids) {
				i = 0
			}
		}
	})
}

// BenchmarkRange visits ~100 live records.
func BenchmarkRange(b *testing.B) {
	tab, _ := warmTable(128)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		tab.Range(func(_ uint32, v *benchRec) bool {
			n += int(v.state)
			return true
		})
	}
	_ = n
}

// TestZeroAllocs asserts that every operation after New allocates nothing.
func TestZeroAllocs(t *testing.T) {
	for _, capacity := range []int{128, 256} {
		tab, c := warmTable(capacity)
		i := 0
		cases := []struct {
			name string
			fn   func()
		}{
			{"churn", func() { churnTable(tab, c) }},
			{"get hit", func() {
				// Refresh the live ids: churn may have run in between.
				if tab.Get(c.ring[i%len(c.ring)]) == nil {
					t.Fatal("miss")
				}
				i++
			}},
			{"get miss", func() {
				if tab.Get(c.next+1) != nil || tab.Get(c.next) != nil {
					t.Fatal("hit")
				}
			}},
			{"insert errors", func() {
				if _, err := tab.Insert(0); err != ErrZeroID {
					t.Fatal(err)
				}
				if _, err := tab.Insert(c.ring[0]); err != ErrExists {
					t.Fatal(err)
				}
			}},
			{"delete absent", func() {
				if tab.Delete(c.next) {
					t.Fatal("deleted an absent id")
				}
			}},
			{"range", func() {
				n := 0
				tab.Range(func(uint32, *benchRec) bool { n++; return true })
				if n != benchLive {
					t.Fatalf("Range visited %d", n)
				}
			}},
		}
		for _, tc := range cases {
			if a := testing.AllocsPerRun(1000, tc.fn); a != 0 {
				t.Errorf("cap %d, %s: %v allocs per run, want 0", capacity, tc.name, a)
			}
		}
	}

	full := New[benchRec](4)
	for id := uint32(1); id <= 7; id += 2 {
		full.Insert(id)
	}
	if a := testing.AllocsPerRun(1000, func() {
		if _, err := full.Insert(9); err != ErrFull {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Insert when full: %v allocs per run, want 0", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		for id := uint32(1); id <= 7; id += 2 {
			full.Insert(id)
		}
		full.Reset()
	}); a != 0 {
		t.Errorf("fill and Reset: %v allocs per run, want 0", a)
	}
}
