package streamtable

// probeStats describes the index layout; the tests use it to check that
// probe sequences stay short under churn.
type probeStats struct {
	maxHit   int     // longest probe of a successful lookup, in slots read (1 = found at home)
	meanHit  float64 // mean probe length of a successful lookup over live ids
	maxMiss  int     // longest probe of a failed lookup: the longest run of occupied slots, plus the empty slot that ends it
	occupied int     // live index slots; equals Len()
}

// stats scans the whole index. It is O(Cap()) and meant for tests.
func (t *Table[V]) stats() probeStats {
	var st probeStats
	sum := 0
	run, firstRun := 0, -1
	for i, e := range t.index {
		if e.id == 0 {
			if firstRun < 0 {
				firstRun = run
			}
			st.maxMiss = max(st.maxMiss, run+1)
			run = 0
			continue
		}
		run++
		st.occupied++
		d := int((uint32(i)-t.home(e.id))&t.mask) + 1
		sum += d
		st.maxHit = max(st.maxHit, d)
	}
	// A run at the end of the array wraps into the one at its start. The
	// index is never more than half full, so firstRun was set.
	st.maxMiss = max(st.maxMiss, run+firstRun+1)
	if st.occupied > 0 {
		st.meanHit = float64(sum) / float64(st.occupied)
	}
	return st
}
