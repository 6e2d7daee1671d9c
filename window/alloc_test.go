package window

import "testing"

// assertNoAllocs fails unless f allocates exactly nothing per run.
func assertNoAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: %v allocs/op, want 0", name, n)
	}
}

func TestSendNoAllocs(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var s, pos SendStream
	c.OpenStream(&s)
	c.OpenStream(&pos)
	// pos has a positive adjustment, so its consume/update touch the table.
	if err := c.AddStream(&pos, 1<<20); err != nil {
		t.Fatal(err)
	}
	assertNoAllocs(t, "Consume+AddStream+AddConn", func() {
		c.Consume(&s, 1000)
		_ = c.AddStream(&s, 1000)
		_ = c.AddConn(1000)
	})
	assertNoAllocs(t, "Consume+AddStream on a positive adjustment", func() {
		c.Consume(&pos, 1000)
		_ = c.AddStream(&pos, 1000)
		_ = c.AddConn(1000)
	})
	assertNoAllocs(t, "Allowed+StreamAvailable+ConnAvailable", func() {
		_ = c.Allowed(&s, 16384)
		_ = c.StreamAvailable(&s)
		_ = c.ConnAvailable()
	})
	assertNoAllocs(t, "SetInitialStreamWindow", func() {
		_ = c.SetInitialStreamWindow(1 << 20)
		_ = c.SetInitialStreamWindow(InitialWindow)
	})
	var tmp SendStream
	assertNoAllocs(t, "OpenStream+CloseStream", func() {
		c.OpenStream(&tmp)
		_ = c.AddStream(&tmp, 7)
		c.CloseStream(&tmp)
	})
}

func TestRecvNoAllocs(t *testing.T) {
	r := NewRecv(InitialWindow)
	assertNoAllocs(t, "Consume+Release+Available", func() {
		_ = r.Consume(16384)
		_ = r.Release(16384)
		_ = r.Available()
	})
	assertNoAllocs(t, "SetTarget", func() {
		_ = r.SetTarget(1 << 20)
		_ = r.SetTarget(InitialWindow)
	})
}
