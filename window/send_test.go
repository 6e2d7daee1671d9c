package window

import (
	"errors"
	"testing"
)

// check fails the test at the caller's line when got != want.
func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func checkErr(t *testing.T, what string, got, want error) {
	t.Helper()
	if !errors.Is(got, want) || (want == nil) != (got == nil) {
		t.Fatalf("%s: error %v, want %v", what, got, want)
	}
}

func TestSendInitialWindows(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var s SendStream
	c.OpenStream(&s)
	check(t, "ConnAvailable", c.ConnAvailable(), 65535)
	check(t, "StreamAvailable", c.StreamAvailable(&s), 65535)
	check(t, "InitialStreamWindow", c.InitialStreamWindow(), 65535)
	check(t, "Allowed(100000)", c.Allowed(&s, 100000), 65535)
	check(t, "Allowed(10)", c.Allowed(&s, 10), 10)
	check(t, "Allowed(0)", c.Allowed(&s, 0), 0)
	check(t, "Allowed(-5)", c.Allowed(&s, -5), 0)
	check(t, "OpenStreams", c.OpenStreams(), 1)

	c2 := NewSendConn(1 << 20)
	var s2 SendStream
	c2.OpenStream(&s2)
	check(t, "StreamAvailable(1MiB initial)", c2.StreamAvailable(&s2), 1<<20)
	check(t, "Allowed limited by connection", c2.Allowed(&s2, 1<<20), 65535)

	c3 := NewSendConn(1<<32 - 1) // clamped
	check(t, "clamped initial", c3.InitialStreamWindow(), MaxWindow)
}

func TestSendConsumeExact(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var a, b SendStream
	c.OpenStream(&a)
	c.OpenStream(&b)
	c.Consume(&a, 1000)
	check(t, "stream a", c.StreamAvailable(&a), 64535)
	check(t, "stream b", c.StreamAvailable(&b), 65535)
	check(t, "conn", c.ConnAvailable(), 64535)
	check(t, "Allowed(b) limited by conn", c.Allowed(&b, 70000), 64535)
	c.Consume(&b, 64535)
	check(t, "conn exhausted", c.ConnAvailable(), 0)
	check(t, "stream b", c.StreamAvailable(&b), 1000)
	check(t, "Allowed(a) with conn 0", c.Allowed(&a, 1), 0)
	c.Consume(&a, 0)
	c.Consume(&a, -7)
	check(t, "Consume(<=0) is a no-op", c.StreamAvailable(&a), 64535)

	// Connection WINDOW_UPDATE reopens both streams up to their own windows.
	checkErr(t, "AddConn", c.AddConn(5000), nil)
	check(t, "conn", c.ConnAvailable(), 5000)
	check(t, "Allowed(a)", c.Allowed(&a, 10000), 5000)
	check(t, "Allowed(b)", c.Allowed(&b, 10000), 1000)
	checkErr(t, "AddStream", c.AddStream(&b, 300), nil)
	check(t, "Allowed(b) after update", c.Allowed(&b, 10000), 1300)
}

func TestSendConnOverflowBoundary(t *testing.T) {
	c := NewSendConn(InitialWindow)
	checkErr(t, "AddConn to exactly 2^31-1", c.AddConn(MaxWindow-65535), nil)
	check(t, "conn", c.ConnAvailable(), MaxWindow)
	checkErr(t, "AddConn to 2^31", c.AddConn(1), ErrOverflow)
	check(t, "conn unchanged", c.ConnAvailable(), MaxWindow)
	checkErr(t, "AddConn(0)", c.AddConn(0), ErrZeroIncrement)

	c = NewSendConn(InitialWindow)
	checkErr(t, "AddConn one past", c.AddConn(MaxWindow-65535+1), ErrOverflow)
	check(t, "conn unchanged", c.ConnAvailable(), 65535)
	checkErr(t, "AddConn 2^32-1", c.AddConn(1<<32-1), ErrOverflow)
	check(t, "conn unchanged", c.ConnAvailable(), 65535)
}

func TestSendStreamOverflowBoundary(t *testing.T) {
	for _, initial := range []uint32{0, 1, 65535, MaxWindow - 1, MaxWindow} {
		c := NewSendConn(initial)
		var s SendStream
		c.OpenStream(&s)
		room := uint32(MaxWindow - initial)
		if room > 0 {
			checkErr(t, "AddStream one past", c.AddStream(&s, room+1), ErrOverflow)
			check(t, "unchanged", c.StreamAvailable(&s), int64(initial))
			checkErr(t, "AddStream to exactly 2^31-1", c.AddStream(&s, room), nil)
		} else {
			checkErr(t, "AddStream(1) at max", c.AddStream(&s, 1), ErrOverflow)
		}
		check(t, "stream at max", c.StreamAvailable(&s), MaxWindow)
		checkErr(t, "AddStream(1) to 2^31", c.AddStream(&s, 1), ErrOverflow)
		check(t, "unchanged", c.StreamAvailable(&s), MaxWindow)
		checkErr(t, "AddStream(0)", c.AddStream(&s, 0), ErrZeroIncrement)
	}
}

// RFC 9113 §6.9.2's example: 60 KB sent, then the initial window drops to
// 16 KB, leaving -44 KB; WINDOW_UPDATE frames bring it back above zero.
func TestSendNegativeWindowAfterSettingsDecrease(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var s, fresh SendStream
	c.OpenStream(&s)
	c.Consume(&s, 60*1024)
	check(t, "stream", c.StreamAvailable(&s), 65535-61440)
	checkErr(t, "SetInitialStreamWindow(16 KiB)", c.SetInitialStreamWindow(16384), nil)
	check(t, "stream window is -44 KiB", c.StreamAvailable(&s), -44*1024)
	check(t, "connection untouched by SETTINGS", c.ConnAvailable(), 65535-61440)
	check(t, "Allowed on a negative window", c.Allowed(&s, 1), 0)
	c.OpenStream(&fresh)
	check(t, "new stream opens at new initial", c.StreamAvailable(&fresh), 16384)

	checkErr(t, "AddStream", c.AddStream(&s, 44*1024), nil)
	check(t, "stream back to 0", c.StreamAvailable(&s), 0)
	check(t, "Allowed at 0", c.Allowed(&s, 1), 0)
	checkErr(t, "AddStream", c.AddStream(&s, 7), nil)
	check(t, "Allowed after recovery", c.Allowed(&s, 100), 7)

	// Raising the setting again moves the negative window up by the delta.
	checkErr(t, "SetInitialStreamWindow(65535)", c.SetInitialStreamWindow(65535), nil)
	check(t, "stream", c.StreamAvailable(&s), 7+65535-16384)
	check(t, "fresh", c.StreamAvailable(&fresh), 65535)
	checkErr(t, "SetInitialStreamWindow(0)", c.SetInitialStreamWindow(0), nil)
	check(t, "fresh at 0", c.StreamAvailable(&fresh), 0)
	check(t, "Allowed with initial 0", c.Allowed(&fresh, 1), 0)
}

func TestSetInitialStreamWindowOverflow(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var s, other SendStream
	c.OpenStream(&s)
	c.OpenStream(&other)
	checkErr(t, "AddStream to max", c.AddStream(&s, MaxWindow-65535), nil)
	checkErr(t, "raise by 1", c.SetInitialStreamWindow(65536), ErrOverflow)
	check(t, "initial unchanged", c.InitialStreamWindow(), 65535)
	check(t, "stream unchanged", c.StreamAvailable(&s), MaxWindow)
	checkErr(t, "same value", c.SetInitialStreamWindow(65535), nil)
	checkErr(t, "lower by 1", c.SetInitialStreamWindow(65534), nil)
	check(t, "stream", c.StreamAvailable(&s), MaxWindow-1)
	checkErr(t, "back to exactly max", c.SetInitialStreamWindow(65535), nil)
	check(t, "stream", c.StreamAvailable(&s), MaxWindow)
	checkErr(t, "above 2^31-1 itself", c.SetInitialStreamWindow(MaxWindow+1), ErrOverflow)

	// Once the big stream closes, any legal value is accepted.
	c.CloseStream(&s)
	checkErr(t, "after close", c.SetInitialStreamWindow(MaxWindow), nil)
	check(t, "other", c.StreamAvailable(&other), MaxWindow)
	check(t, "OpenStreams", c.OpenStreams(), 1)
}

// The remembered maximum goes stale when the stream holding it consumes or
// closes; the answer must still be exact.
func TestSetInitialStreamWindowStaleMaximum(t *testing.T) {
	c := NewSendConn(InitialWindow)
	var a, b, d SendStream
	c.OpenStream(&a)
	c.OpenStream(&b)
	c.OpenStream(&d)
	checkErr(t, "AddStream a", c.AddStream(&a, 1000), nil)
	checkErr(t, "AddStream b", c.AddStream(&b, 500), nil)
	c.Consume(&a, 600) // a: adj 400; the bound 1000 is now stale, true max 500 (b)
	checkErr(t, "exactly at max for b", c.SetInitialStreamWindow(MaxWindow-500), nil)
	check(t, "b", c.StreamAvailable(&b), MaxWindow)
	check(t, "a", c.StreamAvailable(&a), MaxWindow-100)
	check(t, "d", c.StreamAvailable(&d), MaxWindow-500)
	checkErr(t, "one past for b", c.SetInitialStreamWindow(MaxWindow-499), ErrOverflow)
	c.CloseStream(&b)
	checkErr(t, "exactly at max for a", c.SetInitialStreamWindow(MaxWindow-400), nil)
	checkErr(t, "one past for a", c.SetInitialStreamWindow(MaxWindow-399), ErrOverflow)
	c.Consume(&a, 400) // adj 0: no positive adjustment left
	checkErr(t, "no positive adjustments", c.SetInitialStreamWindow(MaxWindow), nil)
	check(t, "a", c.StreamAvailable(&a), MaxWindow)
	check(t, "d", c.StreamAvailable(&d), MaxWindow)
}

func TestSendStreamLifecycle(t *testing.T) {
	c := NewSendConn(1000)
	var s SendStream
	c.CloseStream(&s) // not open: no-op
	check(t, "OpenStreams", c.OpenStreams(), 0)
	c.OpenStream(&s)
	checkErr(t, "AddStream", c.AddStream(&s, 5), nil)
	c.OpenStream(&s) // reopening resets
	check(t, "reset window", c.StreamAvailable(&s), 1000)
	check(t, "OpenStreams", c.OpenStreams(), 1)
	check(t, "no positive adjustment left", c.pos.keys, 0)
	c.CloseStream(&s)
	c.CloseStream(&s)
	check(t, "OpenStreams", c.OpenStreams(), 0)

	// A record moved (copied) to a new slot keeps working.
	c.OpenStream(&s)
	checkErr(t, "AddStream", c.AddStream(&s, 9), nil)
	moved := s
	c.Consume(&moved, 4)
	check(t, "moved", c.StreamAvailable(&moved), 1005)
	c.CloseStream(&moved)
	check(t, "table empty", c.pos.keys, 0)
}

// Allowed never exceeds either window, over a grid of window values.
func TestAllowedNeverExceedsEitherWindow(t *testing.T) {
	vals := []int64{-100000, -1, 0, 1, 100, 65535, 70000, MaxWindow}
	wants := []int{-1, 0, 1, 99, 100, 101, 65535, 1 << 30, 1<<31 - 1}
	for _, conn := range vals {
		for _, sw := range vals {
			c := SendConn{conn: conn, initial: 65535}
			s := SendStream{adj: sw - 65535, tracked: true}
			for _, want := range wants {
				got := c.Allowed(&s, want)
				exp := min(int64(want), conn, sw)
				if exp < 0 {
					exp = 0
				}
				if int64(got) != exp || got < 0 || int64(got) > max(conn, 0) || int64(got) > max(sw, 0) || got > max(want, 0) {
					t.Fatalf("Allowed(conn=%d, stream=%d, want=%d) = %d, want %d", conn, sw, want, got, exp)
				}
			}
		}
	}
}
