package window

import "testing"

// sink keeps results alive so the compiler cannot drop the measured calls.
var sink int64

func BenchmarkSendConsume(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(MaxWindow)
	_ = c.AddConn(MaxWindow - InitialWindow)
	var s SendStream
	c.OpenStream(&s)
	for b.Loop() {
		c.Consume(&s, 1)
	}
	sink = c.StreamAvailable(&s)
}

// BenchmarkSendConsumeUpdate is one DATA frame sent and its stream and
// connection WINDOW_UPDATEs applied.
func BenchmarkSendConsumeUpdate(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var s SendStream
	c.OpenStream(&s)
	for b.Loop() {
		c.Consume(&s, 16384)
		_ = c.AddStream(&s, 16384)
		_ = c.AddConn(16384)
	}
	sink = c.StreamAvailable(&s)
}

// BenchmarkSendConsumeUpdatePositive is the same on a stream the peer has
// granted more than the initial window, which goes through the table.
func BenchmarkSendConsumeUpdatePositive(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var streams [100]SendStream
	for i := range streams {
		c.OpenStream(&streams[i])
		_ = c.AddStream(&streams[i], uint32(1<<20+i))
	}
	s := &streams[50]
	for b.Loop() {
		c.Consume(s, 16384)
		_ = c.AddStream(s, 16384)
		_ = c.AddConn(16384)
	}
	sink = c.StreamAvailable(s)
}

func BenchmarkSendAllowed(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var s SendStream
	c.OpenStream(&s)
	var n int
	for i := 0; b.Loop(); i++ {
		n += c.Allowed(&s, i&0xffff)
	}
	sink = int64(n)
}

func BenchmarkSendQuery(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var s SendStream
	c.OpenStream(&s)
	var n int64
	for b.Loop() {
		n += c.StreamAvailable(&s) + c.ConnAvailable()
	}
	sink = n
}

// BenchmarkSetInitialStreamWindow toggles the setting with 100 open streams,
// half of them above the initial size.
func BenchmarkSetInitialStreamWindow(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var streams [100]SendStream
	for i := range streams {
		c.OpenStream(&streams[i])
		if i%2 == 0 {
			_ = c.AddStream(&streams[i], uint32(1000+i))
		}
	}
	for i := 0; b.Loop(); i++ {
		_ = c.SetInitialStreamWindow(uint32(InitialWindow + i&1))
	}
	sink = c.StreamAvailable(&streams[0])
}

func BenchmarkOpenCloseStream(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(InitialWindow)
	var s SendStream
	for b.Loop() {
		c.OpenStream(&s)
		c.CloseStream(&s)
	}
	sink = int64(c.OpenStreams())
}

func BenchmarkRecvConsume(b *testing.B) {
	b.ReportAllocs()
	r := NewRecv(MaxWindow)
	for b.Loop() {
		if r.Consume(1) != nil {
			r = NewRecv(MaxWindow)
		}
	}
	sink = r.Available()
}

// BenchmarkRecvRelease is one DATA frame received and released; every other
// release crosses the default threshold and yields an update.
func BenchmarkRecvRelease(b *testing.B) {
	b.ReportAllocs()
	r := NewRecv(32768)
	var sent int64
	for b.Loop() {
		_ = r.Consume(8192)
		sent += int64(r.Release(8192))
	}
	sink = sent
}

func BenchmarkRecvSetTarget(b *testing.B) {
	b.ReportAllocs()
	r := NewRecv(InitialWindow)
	var sent int64
	for i := 0; b.Loop(); i++ {
		sent += int64(r.SetTarget(uint32(InitialWindow + i&1)))
	}
	sink = sent
}

// BenchmarkSetInitialStreamWindowRescan is the worst case: the stream that
// held the largest adjustment has consumed, so the remembered maximum is
// stale and the new value is close enough to the limit that the table is
// scanned (100 open streams above the initial size).
func BenchmarkSetInitialStreamWindowRescan(b *testing.B) {
	b.ReportAllocs()
	c := NewSendConn(0)
	var streams [100]SendStream
	for i := range streams {
		c.OpenStream(&streams[i])
		_ = c.AddStream(&streams[i], uint32(1<<20+i))
	}
	top := &streams[len(streams)-1]
	for b.Loop() {
		c.Consume(top, 1) // top now ties the runner-up; the bound is stale
		if c.SetInitialStreamWindow(MaxWindow-(1<<20+98)) != nil {
			b.Fatal("exact answer expected to accept")
		}
		_ = c.SetInitialStreamWindow(0)
		_ = c.AddStream(top, 1)
	}
	sink = c.StreamAvailable(top)
}
