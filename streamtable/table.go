// Package streamtable is a fixed-capacity hash table of HTTP/2 stream records
// keyed by stream id.
//
// The table is sized once, when the connection is set up, from the number of
// concurrent streams the server allows (RFC 9113 §5.1.2,
// SETTINGS_MAX_CONCURRENT_STREAMS). After New it never allocates and never
// grows: when every record is in use, Insert fails with ErrFull and the caller
// refuses the stream.
//
// Records are stored inline in one slab, so the address returned by Insert
// stays valid until the id is deleted. The index is an open-addressed array of
// (id, slab slot) pairs with linear probing and backward-shift deletion: there
// are no tombstones, so lookups cost the same after millions of streams as
// after the first one.
//
// A Table is not safe for concurrent use; the engine owns it under its
// connection lock.
package streamtable

import (
	"errors"
	"fmt"
)

// Errors returned by Insert. They are preallocated sentinels: compare them
// with errors.Is or ==.
var (
	// ErrFull means every record is in use: the table holds Cap() streams and
	// never grows.
	ErrFull = errors.New("streamtable: table full")
	// ErrExists means the id is already in the table.
	ErrExists = errors.New("streamtable: stream id already present")
	// ErrZeroID means the id is 0, which names the connection, not a stream
	// (RFC 9113 §5.1.1: "Stream identifier zero (0x00) is used for connection
	// control messages").
	ErrZeroID = errors.New("streamtable: stream id 0 is not a stream")
)

// MaxCapacity is the largest capacity New accepts.
const MaxCapacity = 1 << 30

// hashMul is the 32-bit Fibonacci hashing multiplier, 2^32 divided by the
// golden ratio, rounded to an odd number. Multiplying by it and keeping the
// top bits spreads arithmetic sequences evenly; client stream ids (odd and
// increasing, RFC 9113 §5.1.1) are such a sequence with step 2, which the
// multiplier turns into steps of 2·hashMul mod 2^32 ≈ 2^32/φ³, still an
// evenly spreading irrational fraction of the index.
const hashMul = 0x9E3779B1

// entry is one index slot. id 0 marks an empty slot (0 is never a stream).
type entry struct {
	id   uint32
	slot int32 // position of the record in Table.slab
}

// Table is a fixed-capacity open-addressed hash table of stream records keyed
// by uint32 stream id.
//
// Records of type V are stored inline in a slab allocated once at
// construction; a record's address is stable from Insert until Delete of that
// id (the engine keeps *V across calls). The index is an open-addressed array
// of (id, slab slot) pairs, power-of-two sized with load factor <= 1/2, linear
// probing and backward-shift deletion (no tombstones, so no slow-down after
// long churn).
//
// The zero Table is not usable; create one with New.
type Table[V any] struct {
	// immutable after New
	mask  uint32 // len(index) - 1
	shift uint32 // 32 - log2(len(index)): the hash keeps the top bits

	// the storage: lengths fixed by New, contents changed by Insert/Delete
	index []entry  // 2*Cap() slots, id 0 = empty
	slab  []V      // Cap() records; a record is zero while its slot is free
	owner []uint32 // owner[s] is the id stored in slab[s], 0 when free
	free  []int32  // stack of free slab slots; len(free) == Cap() - Len()
}

// New returns a table that holds up to capacity live records. capacity is
// rounded up to a power of two; it must be between 1 and MaxCapacity, or New
// panics. New allocates everything the table will ever use: the slab of
// records, the index (twice the capacity) and the free list.
func New[V any](capacity int) *Table[V] {
	if capacity < 1 || capacity > MaxCapacity {
		panic(fmt.Sprintf("streamtable: capacity %d out of range [1, %d]", capacity, MaxCapacity))
	}
	c := 1
	for c < capacity {
		c <<= 1
	}
	n := 2 * c // index size: load factor at most 1/2
	bits := uint32(0)
	for 1<<bits < n {
		bits++
	}
	t := &Table[V]{
		mask:  uint32(n - 1),
		shift: 32 - bits,
		index: make([]entry, n),
		slab:  make([]V, c),
		owner: make([]uint32, c),
		free:  make([]int32, c),
	}
	t.fillFree()
	return t
}

// fillFree makes every slab slot free, handing out low slots first.
func (t *Table[V]) fillFree() {
	t.free = t.free[:cap(t.free)]
	c := len(t.free)
	for i := range t.free {
		t.free[i] = int32(c - 1 - i)
	}
}

// home is the index slot where a lookup for id starts.
func (t *Table[V]) home(id uint32) uint32 {
	return (id * hashMul) >> t.shift
}

// find returns the index slot holding id, or the empty slot where the probe
// for id ended and false.
func (t *Table[V]) find(id uint32) (uint32, bool) {
	i := t.home(id)
	for {
		e := t.index[i]
		if e.id == id {
			return i, true
		}
		if e.id == 0 {
			return i, false
		}
		i = (i + 1) & t.mask
	}
}

// Insert adds id and returns its record, which is zeroed. The pointer is
// valid until Delete(id) or Reset. Insert returns ErrZeroID for id 0,
// ErrExists if id is already present, and ErrFull when Len() == Cap(); in
// those cases the table is unchanged and the pointer is nil.
func (t *Table[V]) Insert(id uint32) (*V, error) {
	if id == 0 {
		return nil, ErrZeroID
	}
	i, ok := t.find(id)
	if ok {
		return nil, ErrExists
	}
	n := len(t.free)
	if n == 0 {
		return nil, ErrFull
	}
	s := t.free[n-1]
	t.free = t.free[:n-1]
	t.index[i] = entry{id: id, slot: s}
	t.owner[s] = id
	return &t.slab[s], nil
}

// Get returns the record of id, or nil when id is absent (including id 0).
// The pointer is valid until Delete(id) or Reset.
func (t *Table[V]) Get(id uint32) *V {
	if id == 0 {
		return nil
	}
	i, ok := t.find(id)
	if !ok {
		return nil
	}
	return &t.slab[t.index[i].slot]
}

// Delete removes id and reports whether it was present. The record is zeroed,
// so it keeps nothing reachable, and its slot goes back to the free list:
// pointers to it must not be used afterwards.
func (t *Table[V]) Delete(id uint32) bool {
	if id == 0 {
		return false
	}
	i, ok := t.find(id)
	if !ok {
		return false
	}
	s := t.index[i].slot
	var zero V
	t.slab[s] = zero
	t.owner[s] = 0
	t.free = append(t.free, s) // never grows: len(free) < cap(free) here
	t.removeAt(i)
	return true
}

// removeAt empties index slot i and shifts the following entries of its probe
// run back, so that every entry stays reachable from its home slot without
// tombstones. An entry at j may fill the hole at i when its home is not in the
// cyclic range (i, j], that is when it sits at least as far from its home as
// from the hole.
func (t *Table[V]) removeAt(i uint32) {
	j := i
	for {
		j = (j + 1) & t.mask
		e := t.index[j]
		if e.id == 0 {
			break
		}
		h := t.home(e.id)
		if (j-h)&t.mask >= (j-i)&t.mask {
			t.index[i] = e
			i = j
		}
	}
	t.index[i] = entry{}
}

// Len returns the number of live records.
func (t *Table[V]) Len() int { return len(t.slab) - len(t.free) }

// Cap returns the maximum number of live records: the capacity given to New
// rounded up to a power of two.
func (t *Table[V]) Cap() int { return len(t.slab) }

// Range calls fn for each live record, in unspecified order, until fn
// returns false. fn must not Insert or Delete. The pointer passed to fn has
// the same lifetime as one returned by Get.
func (t *Table[V]) Range(fn func(id uint32, v *V) bool) {
	for s, id := range t.owner {
		if id != 0 && !fn(id, &t.slab[s]) {
			return
		}
	}
}

// Reset deletes every record, zeroing each as Delete does. It keeps the
// storage and does not allocate.
func (t *Table[V]) Reset() {
	var zero V
	for s, id := range t.owner {
		if id != 0 {
			t.slab[s] = zero
			t.owner[s] = 0
		}
	}
	clear(t.index)
	t.fillFree()
}
