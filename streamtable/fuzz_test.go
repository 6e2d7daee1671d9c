package streamtable

import (
	"encoding/binary"
	"testing"
)

// fuzzRec is the record type of the fuzzed table.
type fuzzRec struct {
	id  uint32
	val uint64
}

// fuzzOps decodes data into operations on a Table and applies each to the
// table and to a map model, failing on the first difference.
//
// Encoding: byte 0 chooses the capacity (1 + data[0]%64, rounded up by New).
// Then each operation is an opcode byte c followed by an id:
//
//	c&7: 0,1,2 Insert; 3 Get; 4,5 Delete; 6 Range; 7 Reset if c>>3 == 31, else Get
//	c>>3&3 (id form): 0,1,2 one byte (a dense id space, so ops collide);
//	                  3 four bytes little-endian (any uint32)
//
// Range reads one more byte: it stops after that many calls (0 = all).
// Reset takes no id.
func fuzzOps(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	tab := New[fuzzRec](1 + int(data[0]%64))
	data = data[1:]
	model := map[uint32]uint64{}
	ptrs := map[uint32]*fuzzRec{} // pointer returned by Insert, must stay put
	var serial uint64

	next := func() (byte, bool) {
		if len(data) == 0 {
			return 0, false
		}
		b := data[0]
		data = data[1:]
		return b, true
	}
	readID := func(form byte) (uint32, bool) {
		if form == 3 {
			if len(data) < 4 {
				return 0, false
			}
			id := binary.LittleEndian.Uint32(data)
			data = data[4:]
			return id, true
		}
		b, ok := next()
		return uint32(b), ok
	}

	for nop := 0; ; nop++ {
		c, ok := next()
		if !ok {
			break
		}
		op, form := c&7, c>>3&3
		if op == 7 && c>>3 == 31 {
			tab.Reset()
			for id, p := range ptrs {
				if *p != (fuzzRec{}) {
					t.Fatalf("op %d: record %d not zeroed by Reset: %+v", nop, id, *p)
				}
			}
			clear(model)
			clear(ptrs)
			continue
		}
		if op == 6 {
			limit, ok := next()
			if !ok {
				break
			}
			seen := map[uint32]bool{}
			tab.Range(func(id uint32, v *fuzzRec) bool {
				want, live := model[id]
				if !live || seen[id] || v != ptrs[id] || v.id != id || v.val != want {
					t.Fatalf("op %d: Range gave id %d %+v (live %v, seen %v, want val %d)", nop, id, *v, live, seen[id], want)
				}
				seen[id] = true
				return limit == 0 || len(seen) < int(limit)
			})
			want := len(model)
			if limit != 0 {
				want = min(want, int(limit))
			}
			if len(seen) != want {
				t.Fatalf("op %d: Range (limit %d) visited %d of %d", nop, limit, len(seen), len(model))
			}
			continue
		}
		id, ok := readID(form)
		if !ok {
			break
		}
		_, live := model[id]
		switch op {
		case 0, 1, 2:
			v, err := tab.Insert(id)
			var want error
			switch {
			case id == 0:
				want = ErrZeroID
			case live:
				want = ErrExists
			case len(model) == tab.Cap():
				want = ErrFull
			}
			if err != want || (err == nil) != (v != nil) {
				t.Fatalf("op %d: Insert(%d) = %p, %v; want error %v", nop, id, v, err, want)
			}
			if err == nil {
				if *v != (fuzzRec{}) {
					t.Fatalf("op %d: Insert(%d) record not zero: %+v", nop, id, *v)
				}
				serial++
				*v = fuzzRec{id: id, val: serial}
				model[id] = serial
				ptrs[id] = v
			}
		case 3, 7:
			v := tab.Get(id)
			if (v != nil) != live || (live && (v != ptrs[id] || v.id != id || v.val != model[id])) {
				t.Fatalf("op %d: Get(%d) = %p %+v; live %v, want %p val %d", nop, id, v, v, live, ptrs[id], model[id])
			}
		case 4, 5:
			if got := tab.Delete(id); got != live {
				t.Fatalf("op %d: Delete(%d) = %v, want %v", nop, id, got, live)
			}
			if live {
				if p := ptrs[id]; *p != (fuzzRec{}) {
					t.Fatalf("op %d: record %d not zeroed by Delete: %+v", nop, id, *p)
				}
				delete(model, id)
				delete(ptrs, id)
			}
		}
		if tab.Len() != len(model) {
			t.Fatalf("op %d: Len %d, model %d", nop, tab.Len(), len(model))
		}
	}
	checkTable(t, tab)
	for id, val := range model {
		if v := tab.Get(id); v == nil || v != ptrs[id] || v.val != val {
			t.Fatalf("final Get(%d) = %+v, want val %d", id, v, val)
		}
	}
}

// FuzzTable checks Table against a map over random operation sequences.
func FuzzTable(f *testing.F) {
	// Insert 1, 3, 5, Get 3, Delete 1, Get 5, Range all.
	f.Add([]byte{4, 0, 1, 0, 3, 0, 5, 3, 3, 4, 1, 3, 5, 6, 0})
	// Capacity 1: full, duplicate, zero id, delete and refill.
	f.Add([]byte{0, 0, 7, 0, 9, 0, 7, 0, 0, 4, 7, 0, 9, 3, 9, 6, 1})
	// Full-width ids (form 3), including 0xFFFFFFFF and 2^31.
	f.Add([]byte{2,
		0x18, 0xff, 0xff, 0xff, 0xff, 0x18, 0, 0, 0, 0x80, 0x18, 1, 0, 0, 0,
		0x1b, 0, 0, 0, 0x80, 0x1c, 0xff, 0xff, 0xff, 0xff, 0x1b, 0xff, 0xff, 0xff, 0xff, 6, 0})
	// Reset in the middle, then reuse.
	f.Add([]byte{3, 0, 2, 0, 4, 0, 6, 0xff, 3, 2, 0, 2, 6, 0, 6, 1})
	// A long churn of odd ids with a window of 8 live streams in a table of 8.
	churn := []byte{7}
	for i := 0; i < 120; i++ {
		churn = append(churn, 0, byte(2*i+1))
		if i >= 8 {
			churn = append(churn, 4, byte(2*(i-8)+1))
		}
		if i%16 == 0 {
			churn = append(churn, 6, 0)
		}
	}
	f.Add(churn)
	// Many colliding dense ids, deleted out of order (backward shifts).
	dense := []byte{15}
	for i := 0; i < 16; i++ {
		dense = append(dense, 0, byte(i*16+1))
	}
	for _, i := range []int{3, 0, 15, 7, 8, 1, 14, 2} {
		dense = append(dense, 4, byte(i*16+1))
	}
	dense = append(dense, 6, 0)
	for i := 0; i < 16; i++ {
		dense = append(dense, 3, byte(i*16+1))
	}
	f.Add(dense)
	f.Fuzz(fuzzOps)
}
