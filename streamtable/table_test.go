package streamtable

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// rec is a stream-like record with a pointer in it, so that zeroing on
// Delete is observable.
type rec struct {
	id    uint32
	state uint8
	n     uint64
	p     *int
	pad   [6]uint64
}

// checkTable verifies every internal invariant of t and fails the test on the
// first violation.
func checkTable[V any](tb testing.TB, t *Table[V]) {
	tb.Helper()
	if len(t.index) != 2*len(t.slab) || len(t.owner) != len(t.slab) || cap(t.free) != len(t.slab) {
		tb.Fatalf("sizes: index %d slab %d owner %d free cap %d", len(t.index), len(t.slab), len(t.owner), cap(t.free))
	}
	live := 0
	for i, e := range t.index {
		if e.id == 0 {
			if e.slot != 0 {
				tb.Fatalf("empty index slot %d has slab slot %d", i, e.slot)
			}
			continue
		}
		live++
		j, ok := t.find(e.id)
		if !ok || j != uint32(i) {
			tb.Fatalf("id %d at index %d: find gives (%d, %v)", e.id, i, j, ok)
		}
		if e.slot < 0 || int(e.slot) >= len(t.slab) || t.owner[e.slot] != e.id {
			tb.Fatalf("id %d at index %d: slab slot %d owned by %d", e.id, i, e.slot, t.owner[e.slot])
		}
	}
	owned := 0
	for _, id := range t.owner {
		if id != 0 {
			owned++
		}
	}
	if live != owned || live != t.Len() {
		tb.Fatalf("live index entries %d, owned slab slots %d, Len %d", live, owned, t.Len())
	}
	seen := make(map[int32]bool, len(t.free))
	for _, s := range t.free {
		if s < 0 || int(s) >= len(t.slab) || seen[s] || t.owner[s] != 0 {
			tb.Fatalf("bad free slot %d (dup %v)", s, seen[s])
		}
		seen[s] = true
		if !reflect.ValueOf(&t.slab[s]).Elem().IsZero() {
			tb.Fatalf("free slab slot %d is not zero: %+v", s, t.slab[s])
		}
	}
}

func TestNewCapacity(t *testing.T) {
	for _, c := range []struct{ in, want int }{
		{1, 1}, {2, 2}, {3, 4}, {100, 128}, {128, 128}, {129, 256}, {256, 256}, {1000, 1024},
	} {
		tab := New[rec](c.in)
		if tab.Cap() != c.want || tab.Len() != 0 || len(tab.index) != 2*c.want {
			t.Errorf("New(%d): Cap %d Len %d index %d, want Cap %d Len 0 index %d",
				c.in, tab.Cap(), tab.Len(), len(tab.index), c.want, 2*c.want)
		}
		checkTable(t, tab)
	}
	for _, c := range []int{0, -1, MaxCapacity + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", c)
				}
			}()
			New[rec](c)
		}()
	}
}

func TestInsertGetDelete(t *testing.T) {
	tab := New[rec](8)
	ids := []uint32{1, 3, 5, 2, 1 << 31, 0xFFFFFFFF, 7}
	for i, id := range ids {
		v, err := tab.Insert(id)
		if err != nil || v == nil {
			t.Fatalf("Insert(%d) = %p, %v", id, v, err)
		}
		if *v != (rec{}) {
			t.Fatalf("Insert(%d) record not zero: %+v", id, *v)
		}
		v.id, v.n = id, uint64(i)*10
		if tab.Len() != i+1 {
			t.Fatalf("Len after %d inserts = %d", i+1, tab.Len())
		}
	}
	checkTable(t, tab)
	for i, id := range ids {
		v := tab.Get(id)
		if v == nil || v.id != id || v.n != uint64(i)*10 {
			t.Fatalf("Get(%d) = %+v", id, v)
		}
	}
	for _, id := range []uint32{0, 9, 4, 1<<31 + 1, 0xFFFFFFFD} {
		if v := tab.Get(id); v != nil {
			t.Fatalf("Get(%d) of absent id = %+v", id, v)
		}
		if tab.Delete(id) {
			t.Fatalf("Delete(%d) of absent id = true", id)
		}
	}
	if !tab.Delete(3) {
		t.Fatal("Delete(3) = false")
	}
	if tab.Delete(3) {
		t.Fatal("second Delete(3) = true")
	}
	if tab.Get(3) != nil || tab.Len() != len(ids)-1 {
		t.Fatalf("after Delete(3): Get %v Len %d", tab.Get(3), tab.Len())
	}
	checkTable(t, tab)
	for i, id := range ids {
		if id == 3 {
			continue
		}
		if v := tab.Get(id); v == nil || v.n != uint64(i)*10 {
			t.Fatalf("after Delete(3): Get(%d) = %+v", id, v)
		}
	}
	// The id can come back, with a zeroed record.
	v, err := tab.Insert(3)
	if err != nil || *v != (rec{}) {
		t.Fatalf("re-Insert(3) = %+v, %v", v, err)
	}
	checkTable(t, tab)
}

func TestDeleteZeroesRecord(t *testing.T) {
	tab := New[rec](4)
	v, _ := tab.Insert(11)
	x := 42
	*v = rec{id: 11, state: 3, n: 99, p: &x, pad: [6]uint64{1, 2, 3, 4, 5, 6}}
	if !tab.Delete(11) {
		t.Fatal("Delete(11) = false")
	}
	// White-box: the slab never moves, so v still points at the freed slot.
	if *v != (rec{}) {
		t.Fatalf("record after Delete = %+v, want zero", *v)
	}
	checkTable(t, tab)
}

func TestErrFull(t *testing.T) {
	tab := New[rec](100) // rounds up to 128
	if tab.Cap() != 128 {
		t.Fatalf("Cap = %d, want 128", tab.Cap())
	}
	for i := range 128 {
		id := uint32(2*i + 1)
		if _, err := tab.Insert(id); err != nil {
			t.Fatalf("Insert #%d (id %d): %v", i+1, id, err)
		}
	}
	checkTable(t, tab)
	v, err := tab.Insert(257)
	if err != ErrFull || v != nil {
		t.Fatalf("Insert at capacity = %p, %v, want nil, ErrFull", v, err)
	}
	if tab.Len() != 128 || tab.Get(257) != nil {
		t.Fatalf("failed Insert changed the table: Len %d Get %v", tab.Len(), tab.Get(257))
	}
	// An id that is present is reported as such even when full.
	if _, err := tab.Insert(1); err != ErrExists {
		t.Fatalf("Insert(existing) at capacity: %v, want ErrExists", err)
	}
	if _, err := tab.Insert(0); err != ErrZeroID {
		t.Fatalf("Insert(0) at capacity: %v, want ErrZeroID", err)
	}
	tab.Delete(77)
	if _, err := tab.Insert(257); err != nil {
		t.Fatalf("Insert after a Delete at capacity: %v", err)
	}
	if _, err := tab.Insert(259); err != ErrFull {
		t.Fatalf("Insert when full again: %v, want ErrFull", err)
	}
	checkTable(t, tab)
	if !errors.Is(ErrFull, ErrFull) || ErrFull == ErrExists || ErrExists == ErrZeroID {
		t.Fatal("sentinel errors are not distinct")
	}

	one := New[rec](1)
	if _, err := one.Insert(5); err != nil {
		t.Fatal(err)
	}
	if _, err := one.Insert(7); err != ErrFull {
		t.Fatalf("capacity 1, second Insert: %v, want ErrFull", err)
	}
}

func TestErrExists(t *testing.T) {
	tab := New[rec](4)
	v, _ := tab.Insert(9)
	v.n = 1234
	w, err := tab.Insert(9)
	if err != ErrExists || w != nil {
		t.Fatalf("duplicate Insert = %p, %v, want nil, ErrExists", w, err)
	}
	if tab.Len() != 1 || tab.Get(9) != v || v.n != 1234 {
		t.Fatalf("duplicate Insert changed the table: Len %d Get %p (want %p) n %d", tab.Len(), tab.Get(9), v, v.n)
	}
	checkTable(t, tab)
}

func TestErrZeroID(t *testing.T) {
	tab := New[rec](4)
	v, err := tab.Insert(0)
	if err != ErrZeroID || v != nil {
		t.Fatalf("Insert(0) = %p, %v, want nil, ErrZeroID", v, err)
	}
	if tab.Get(0) != nil || tab.Delete(0) || tab.Len() != 0 {
		t.Fatal("id 0 reached the table")
	}
	checkTable(t, tab)
}

func TestPointerStability(t *testing.T) {
	tab := New[rec](64)
	keep := map[uint32]*rec{}
	for _, id := range []uint32{1, 1001, 1 << 30, 0xFFFFFFFF} {
		v, err := tab.Insert(id)
		if err != nil {
			t.Fatal(err)
		}
		v.id, v.n = id, uint64(id)*3
		keep[id] = v
	}
	// Churn other ids through the rest of the table many times, which moves
	// index entries around (backward shifts) but must never move records.
	rng := rand.New(rand.NewPCG(1, 2))
	var live []uint32
	next := uint32(3)
	for range 200000 {
		if len(live) < 60 && (len(live) == 0 || rng.IntN(2) == 0) {
			v, err := tab.Insert(next)
			if err != nil {
				t.Fatalf("Insert(%d): %v", next, err)
			}
			v.id, v.n = next, ^uint64(next)
			live = append(live, next)
			next += 2
			if next == 1001 {
				next += 2
			}
		} else {
			k := rng.IntN(len(live))
			if !tab.Delete(live[k]) {
				t.Fatalf("Delete(%d) = false", live[k])
			}
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
		}
	}
	checkTable(t, tab)
	for id, p := range keep {
		if got := tab.Get(id); got != p {
			t.Fatalf("Get(%d) = %p, want the Insert pointer %p", id, got, p)
		}
		if p.id != id || p.n != uint64(id)*3 {
			t.Fatalf("record %d changed: %+v", id, *p)
		}
	}
	for _, id := range live {
		if v := tab.Get(id); v == nil || v.id != id || v.n != ^uint64(id) {
			t.Fatalf("live id %d: %+v", id, v)
		}
	}
}

func TestRange(t *testing.T) {
	tab := New[rec](32)
	want := map[uint32]uint64{}
	for i := range 40 {
		id := uint32(2*i + 1)
		if v, err := tab.Insert(id); err == nil {
			v.n = uint64(i)
			want[id] = uint64(i)
		}
	}
	for id := range want {
		if id%3 == 0 {
			tab.Delete(id)
			delete(want, id)
		}
	}
	got := map[uint32]uint64{}
	tab.Range(func(id uint32, v *rec) bool {
		if _, dup := got[id]; dup {
			t.Fatalf("Range visited %d twice", id)
		}
		if v != tab.Get(id) {
			t.Fatalf("Range pointer for %d differs from Get", id)
		}
		got[id] = v.n
		return true
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Range visited %v, want %v", got, want)
	}
	for stop := range len(want) + 2 {
		calls := 0
		tab.Range(func(uint32, *rec) bool {
			calls++
			return calls < stop
		})
		if w := min(max(stop, 1), len(want)); calls != w {
			t.Fatalf("Range stopping after %d: %d calls, want %d", stop, calls, w)
		}
	}
	empty := New[rec](8)
	empty.Range(func(id uint32, _ *rec) bool {
		t.Fatalf("Range on empty table visited %d", id)
		return true
	})
}

func TestReset(t *testing.T) {
	tab := New[rec](16)
	var ptrs []*rec
	x := 1
	for i := range 16 {
		v, err := tab.Insert(uint32(100 + i))
		if err != nil {
			t.Fatal(err)
		}
		v.n, v.p = 7, &x
		ptrs = append(ptrs, v)
	}
	tab.Delete(105)
	tab.Reset()
	if tab.Len() != 0 || tab.Cap() != 16 {
		t.Fatalf("after Reset: Len %d Cap %d", tab.Len(), tab.Cap())
	}
	for i, p := range ptrs {
		if tab.Get(uint32(100+i)) != nil {
			t.Fatalf("Get(%d) after Reset not nil", 100+i)
		}
		if *p != (rec{}) {
			t.Fatalf("record %d not zeroed by Reset: %+v", 100+i, *p)
		}
	}
	tab.Range(func(id uint32, _ *rec) bool {
		t.Fatalf("Range after Reset visited %d", id)
		return false
	})
	checkTable(t, tab)
	for i := range 16 {
		if _, err := tab.Insert(uint32(100 + i)); err != nil {
			t.Fatalf("Insert after Reset: %v", err)
		}
	}
	if _, err := tab.Insert(1); err != ErrFull {
		t.Fatalf("Insert beyond capacity after Reset: %v, want ErrFull", err)
	}
	checkTable(t, tab)
}

// TestChurnProbeLength runs HTTP/2-like stream churn: millions of sequential
// odd client ids, a window of concurrent streams that finish in order or out
// of order, and checks that the probe lengths stay short for the whole run.
// Backward-shift deletion leaves no tombstones, so the bound that holds after
// the first thousand streams must still hold after millions.
func TestChurnProbeLength(t *testing.T) {
	streams := 4_000_000
	if testing.Short() {
		streams = 200_000
	}
	cases := []struct {
		name   string
		cap    int
		live   int
		random bool // finish a random live stream instead of the oldest
		// bounds on the worst probe seen at any sample over the whole run
		maxHit, maxMiss int
	}{
		// In order, the live ids are a run of consecutive odd numbers, which
		// Fibonacci hashing spreads almost without collisions.
		{"fifo/100of128", 128, 100, false, 2, 4},
		{"fifo/100of256", 256, 100, false, 2, 4},
		{"fifo/128of128", 128, 128, false, 2, 4},
		// Out of order, the live set looks random; linear probing at load
		// <= 1/2 then has O(log n) worst probes and a mean under 1.5.
		{"random/100of128", 128, 100, true, 12, 16},
		{"random/100of256", 256, 100, true, 8, 12},
		{"random/128of128", 128, 128, true, 16, 24},
		{"random/1000of1024", 1024, 1000, true, 28, 40},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := New[rec](c.cap)
			rng := rand.New(rand.NewPCG(7, uint64(c.cap)))
			ring := make([]uint32, 0, c.live) // live ids, oldest first in fifo mode
			var worst probeStats
			var meanSum, worstMean float64
			samples := 0
			id := uint32(1)
			for n := range streams {
				if len(ring) == c.live {
					k := 0
					if c.random {
						k = rng.IntN(len(ring))
					}
					if !tab.Delete(ring[k]) {
						t.Fatalf("Delete(%d) = false", ring[k])
					}
					if c.random {
						ring[k] = ring[len(ring)-1]
						ring = ring[:len(ring)-1]
					} else {
						ring = append(ring[:0], ring[1:]...)
					}
				}
				v, err := tab.Insert(id)
				if err != nil {
					t.Fatalf("Insert(%d) after %d streams: %v", id, n, err)
				}
				v.id = id
				ring = append(ring, id)
				id += 2
				if n%997 == 0 {
					st := tab.stats()
					worst.maxHit = max(worst.maxHit, st.maxHit)
					worst.maxMiss = max(worst.maxMiss, st.maxMiss)
					meanSum += st.meanHit
					worstMean = max(worstMean, st.meanHit)
					samples++
				}
			}
			checkTable(t, tab)
			for _, id := range ring {
				if v := tab.Get(id); v == nil || v.id != id {
					t.Fatalf("live id %d lost: %+v", id, v)
				}
			}
			t.Logf("%d streams: worst hit probe %d, worst miss probe %d, mean hit probe %.3f (worst sample %.3f)",
				streams, worst.maxHit, worst.maxMiss, meanSum/float64(samples), worstMean)
			if worst.maxHit > c.maxHit || worst.maxMiss > c.maxMiss {
				t.Errorf("worst probe lengths hit %d miss %d, want <= %d and <= %d",
					worst.maxHit, worst.maxMiss, c.maxHit, c.maxMiss)
			}
			if worstMean > 1.5 {
				t.Errorf("worst sampled mean hit probe %.3f, want <= 1.5", worstMean)
			}
		})
	}
}

// TestRandomIDs checks the hash on arbitrary 32-bit ids (a peer may use any
// id, and the server's own push ids are even).
func TestRandomIDs(t *testing.T) {
	tab := New[rec](1024)
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]uint32, 0, 1024)
	for len(ids) < 1024 {
		id := rng.Uint32()
		if _, err := tab.Insert(id); err == nil {
			ids = append(ids, id)
		} else if id != 0 && err != ErrExists {
			t.Fatal(err)
		}
	}
	checkTable(t, tab)
	st := tab.stats()
	t.Logf("1024 random ids in 2048 slots: %+v", st)
	if st.occupied != 1024 || st.maxHit > 24 || st.meanHit > 1.5 {
		t.Errorf("random ids: %+v, want 1024 occupied, max hit probe <= 24, mean <= 1.5", st)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if tab.Get(id) == nil {
			t.Fatalf("Get(%d) = nil", id)
		}
	}
}
