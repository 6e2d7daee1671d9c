package window

import "testing"

func TestRecvConsumeExact(t *testing.T) {
	r := NewRecv(InitialWindow)
	check(t, "Available", r.Available(), 65535)
	check(t, "Target", r.Target(), 65535)
	checkErr(t, "Consume(0)", r.Consume(0), nil)
	checkErr(t, "Consume(1000)", r.Consume(1000), nil)
	check(t, "Available", r.Available(), 64535)
	checkErr(t, "Consume(rest)", r.Consume(64535), nil)
	check(t, "Available", r.Available(), 0)
	checkErr(t, "Consume(1) on empty", r.Consume(1), ErrExceeded)
	check(t, "Available unchanged", r.Available(), 0)

	r = NewRecv(InitialWindow)
	checkErr(t, "Consume(65536)", r.Consume(65536), ErrExceeded)
	check(t, "Available unchanged", r.Available(), 65535)
	checkErr(t, "Consume(max uint32)", r.Consume(1<<32-1), ErrExceeded)
	checkErr(t, "Consume(65535)", r.Consume(65535), nil)

	r = NewRecv(1<<32 - 1)
	check(t, "clamped", r.Target(), MaxWindow)
	checkErr(t, "Consume(2^31-1)", r.Consume(MaxWindow), nil)
	check(t, "Release(2^31-1)", r.Release(MaxWindow), uint32(MaxWindow))
	check(t, "Available", r.Available(), MaxWindow)
}

func TestRecvBatching(t *testing.T) {
	r := NewRecv(InitialWindow) // threshold 65535*128/256 = 32767
	checkErr(t, "Consume", r.Consume(40000), nil)
	check(t, "Release below threshold", r.Release(32766), 0)
	check(t, "Pending", r.Pending(), 32766)
	check(t, "Available still", r.Available(), 25535)
	check(t, "Release reaching threshold", r.Release(1), 32767)
	check(t, "Pending after update", r.Pending(), 0)
	check(t, "Available", r.Available(), 25535+32767)
	check(t, "Release rest", r.Release(7233), 0)
	check(t, "Pending", r.Pending(), 7233)
	check(t, "Release more than held is capped", r.Release(100000), 0)
	check(t, "Pending", r.Pending(), 7233)
	check(t, "Available", r.Available(), 58302)
	// Everything received has been released: target = available + pending.
	check(t, "invariant", r.Available()+r.Pending(), int64(r.Target()))
}

func TestRecvThreshold(t *testing.T) {
	r := NewRecv(1024)
	r.SetThreshold(0) // every release is announced
	checkErr(t, "Consume", r.Consume(10), nil)
	check(t, "Release(1)", r.Release(1), 1)
	check(t, "Release(0)", r.Release(0), 0)
	check(t, "Release(2)", r.Release(2), 2)

	r.SetThreshold(255) // 1024*255/256 = 1020
	// held: 7 + 1017
	checkErr(t, "Consume", r.Consume(1017), nil)
	check(t, "Release(1019)", r.Release(1019), 0)
	check(t, "Release(1) reaching 1020", r.Release(1), 1020)
	check(t, "Available", r.Available(), 1020)

	r.SetThreshold(64) // 1024*64/256 = 256
	checkErr(t, "Consume", r.Consume(300), nil)
	check(t, "Release(255)", r.Release(255), 0)
	check(t, "Release(1)", r.Release(1), 256)
}

func TestRecvSetTargetGrowth(t *testing.T) {
	// The connection window: 65,535 until we grant more with WINDOW_UPDATE.
	r := NewRecv(InitialWindow)
	check(t, "SetTarget(1 MiB)", r.SetTarget(1<<20), 1<<20-65535)
	check(t, "Available", r.Available(), 1<<20)
	check(t, "Target", r.Target(), 1<<20)
	check(t, "SetTarget(same)", r.SetTarget(1<<20), 0)

	// Growth also flushes what was pending below the threshold.
	r = NewRecv(InitialWindow)
	checkErr(t, "Consume", r.Consume(100), nil)
	check(t, "Release(50)", r.Release(50), 0)
	check(t, "SetTarget(+10)", r.SetTarget(65545), 60)
	check(t, "Available", r.Available(), 65535-100+60)
	check(t, "Pending", r.Pending(), 0)

	check(t, "SetTarget above max", r.SetTarget(1<<32-1), uint32(MaxWindow-65545))
	check(t, "Target clamped", r.Target(), MaxWindow)
	check(t, "Available", r.Available(), MaxWindow-50)
}

func TestRecvSetTargetShrink(t *testing.T) {
	r := NewRecv(InitialWindow)
	checkErr(t, "Consume all", r.Consume(65535), nil)
	check(t, "SetTarget(32768)", r.SetTarget(32768), 0)
	check(t, "Pending is a debt", r.Pending(), -32767)
	check(t, "Release pays the debt", r.Release(32767), 0)
	check(t, "Pending", r.Pending(), 0)
	check(t, "Release(16383) below 16384", r.Release(16383), 0)
	check(t, "Release(1) reaches 16384", r.Release(1), 16384)
	check(t, "Available", r.Available(), 16384)
	check(t, "Release(rest)", r.Release(16384), 16384)
	check(t, "Available back to target", r.Available(), 32768)

	// Shrink, then grow by less than the debt: nothing to send yet.
	r = NewRecv(1000)
	checkErr(t, "Consume", r.Consume(1000), nil)
	check(t, "SetTarget(400)", r.SetTarget(400), 0)
	check(t, "SetTarget(500)", r.SetTarget(500), 0)
	check(t, "Pending", r.Pending(), -500)
	check(t, "Release(1000)", r.Release(1000), 500)
	check(t, "Available", r.Available(), 500)
	checkErr(t, "Consume(501)", r.Consume(501), ErrExceeded)
}
