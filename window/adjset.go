package window

// adjSet is a multiset of positive uint32 values (the positive per-stream
// adjustments of a SendConn): an open-addressed table with linear probing and
// backward-shift deletion, so lookups stay short after any amount of churn.
//
// A key occurs once with a count; key 0 marks an empty slot (only positive
// values are stored). The table grows by doubling when more than half of it
// would be used, and never shrinks, so after the largest number of distinct
// positive adjustments seen so far it allocates nothing.
//
// Costs: insert and remove are O(1) expected; max is O(len(slots)).
type adjSet struct {
	slots []adjSlot // len is 0 or a power of two
	keys  uint32    // distinct keys stored
	shift uint8     // 32 - log2(len(slots)): home slot = hash >> shift
}

type adjSlot struct {
	key   uint32 // 0: empty
	count uint32 // how many open streams have this adjustment; > 0 when key != 0
}

const adjSetMinSlots = 8

// home returns the preferred slot of k (Fibonacci hashing on the high bits).
func (t *adjSet) home(k uint32) int { return int((k * 0x9E3779B9) >> t.shift) }

// insert adds one occurrence of k (k > 0).
func (t *adjSet) insert(k uint32) {
	if 2*(int(t.keys)+1) > len(t.slots) {
		t.grow()
	}
	mask := len(t.slots) - 1
	for i := t.home(k); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == k {
			s.count++
			return
		}
		if s.key == 0 {
			*s = adjSlot{key: k, count: 1}
			t.keys++
			return
		}
	}
}

// remove deletes one occurrence of k and returns how many remain. Removing a
// value that is not present does nothing and returns 0 (it can only happen
// if a SendStream was copied and both copies were closed).
func (t *adjSet) remove(k uint32) uint32 {
	if t.keys == 0 {
		return 0
	}
	mask := len(t.slots) - 1
	i := t.home(k)
	for t.slots[i].key != k {
		if t.slots[i].key == 0 {
			return 0
		}
		i = (i + 1) & mask
	}
	if t.slots[i].count--; t.slots[i].count > 0 {
		return t.slots[i].count
	}
	// Backward-shift deletion: pull later members of the probe run into the
	// hole when the hole lies on their path from their home slot.
	for j := i; ; {
		j = (j + 1) & mask
		k := t.slots[j].key
		if k == 0 {
			break
		}
		h := t.home(k)
		// Slot j's entry may move to i unless its home lies cyclically in (i, j].
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = adjSlot{}
	t.keys--
	return 0
}

// max returns the largest key, or 0 when the set is empty. O(len(slots)).
func (t *adjSet) max() uint32 {
	var m uint32
	for _, s := range t.slots {
		m = max(m, s.key)
	}
	return m
}

// grow doubles the table (or creates it) and reinserts every entry.
func (t *adjSet) grow() {
	old := t.slots
	n := max(adjSetMinSlots, 2*len(old))
	t.slots = make([]adjSlot, n)
	t.shift = uint8(32 - log2(n))
	mask := n - 1
	for _, s := range old {
		if s.key == 0 {
			continue
		}
		i := t.home(s.key)
		for t.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// log2 returns log2(n) for a power of two n.
func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
