package window

import (
	"math/rand/v2"
	"testing"
)

// TestAdjSetAgainstMap runs random churn on an adjSet and a map and compares
// counts and maxima after every step, then looks every key up again and
// checks the table stayed within four slots per peak key.
func TestAdjSetAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s adjSet
	ref := map[uint32]uint32{}
	var live []uint32 // one entry per occurrence
	for step := range 200000 {
		if len(live) < 64 && (len(live) == 0 || rng.IntN(2) == 0) {
			k := uint32(rng.IntN(1000)) + 1
			if rng.IntN(4) == 0 {
				k = rng.Uint32()>>1 + 1
			}
			s.insert(k)
			ref[k]++
			live = append(live, k)
		} else {
			i := rng.IntN(len(live))
			k := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			ref[k]--
			if ref[k] == 0 {
				delete(ref, k)
			}
			if got := s.remove(k); got != ref[k] {
				t.Fatalf("step %d: remove(%d) left %d, want %d", step, k, got, ref[k])
			}
		}
		if int(s.keys) != len(ref) {
			t.Fatalf("step %d: keys %d, want %d", step, s.keys, len(ref))
		}
		var want uint32
		for k := range ref {
			want = max(want, k)
		}
		if got := s.max(); got != want {
			t.Fatalf("step %d: max %d, want %d", step, got, want)
		}
	}
	for k, n := range ref {
		if got := s.count(k); got != n {
			t.Fatalf("count(%d) = %d, want %d", k, got, n)
		}
	}
	if len(s.slots) > 256 {
		t.Fatalf("table grew to %d slots for at most 64 keys", len(s.slots))
	}
	check(t, "remove absent", s.remove(1<<31+5), 0)
}

// count returns the occurrences of k (test helper).
func (t *adjSet) count(k uint32) uint32 {
	if t.keys == 0 {
		return 0
	}
	mask := len(t.slots) - 1
	for i := t.home(k); t.slots[i].key != 0; i = (i + 1) & mask {
		if t.slots[i].key == k {
			return t.slots[i].count
		}
	}
	return 0
}
