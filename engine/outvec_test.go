package engine

import (
	"bytes"
	"fmt"
	"testing"
	"unsafe"

	"github.com/h2loop/h2loop/codec"
)

// pattern returns n bytes with byte i = 'a'+i%26.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// within reports whether s lies inside b's memory.
func within(s, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

// drainSegments takes the whole output of c as a transport with gathered
// writes would: at most maxSegs segments at a time, each write taking
// only chunk bytes (cutting segments anywhere). It returns the bytes and
// how many of them came from segments inside static.
func drainSegments(c *Conn, maxSegs, chunk int, static []byte) (out []byte, byRef int) {
	segs := make([][]byte, 0, maxSegs)
	for c.OutputLen() > 0 {
		segs = c.OutputSegments(segs[:0])
		if len(segs) == 0 {
			panic("OutputSegments returned nothing with output pending")
		}
		n := 0
		for _, s := range segs {
			take := min(len(s), chunk-n)
			out = append(out, s[:take]...)
			if within(s, static) {
				byRef += take
			}
			if n += take; n == chunk {
				break
			}
		}
		c.ConsumeOutput(n)
	}
	c.ConsumeOutput(0)
	return out, byRef
}

// frames parses a byte stream of frames.
func parseFrames(t *testing.T, b []byte) []frame {
	t.Helper()
	var fs []frame
	for len(b) > 0 {
		if len(b) < codec.FrameHeaderLen {
			t.Fatalf("%d bytes left: not a frame", len(b))
		}
		h := codec.ParseFrameHeader(b)
		end := codec.FrameHeaderLen + int(h.Length)
		if end > len(b) {
			t.Fatalf("frame %v of %d bytes, %d left", h.Type, h.Length, len(b)-codec.FrameHeaderLen)
		}
		fs = append(fs, frame{h, b[codec.FrameHeaderLen:end]})
		b = b[end:]
	}
	return fs
}

// TestStaticBodyByReference: a static body larger than the client's
// windows goes out in DATA frames within MAX_FRAME_SIZE and the windows,
// as WINDOW_UPDATEs arrive, with its payload taken from the body's own
// memory (not copied into the output buffer) however the transport cuts
// its writes.
func TestStaticBodyByReference(t *testing.T) {
	for _, w := range []struct{ segs, chunk int }{{64, 1 << 20}, {3, 1000}, {2, 16393}, {1, 9}} {
		t.Run(fmt.Sprintf("segs%d-chunk%d", w.segs, w.chunk), func(t *testing.T) {
			tc := newTConn(t, Config{})
			tc.handshake()
			const streamWin = 40000
			tc.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: streamWin}))
			if f := tc.next(); f.Type != codec.FrameSettings || !f.Flags.Has(codec.FlagAck) {
				t.Fatal("no SETTINGS ACK")
			}
			body := pattern(300_000)
			tc.feed(tc.get(1, "/big"))
			r := tc.cb.reqs[0]
			tc.cb.reqs = nil
			r.SetStaticBody(body)
			tc.c.Respond(r)

			var got []byte
			connWin, stWin := codec.DefaultInitialWindowSize, streamWin
			ended, sawHeaders := false, false
			for round := 0; !ended; round++ {
				if round > 1000 {
					t.Fatal("the body did not end")
				}
				out, byRef := drainSegments(tc.c, w.segs, w.chunk, body)
				fs := parseFrames(t, out)
				if len(fs) == 0 {
					t.Fatalf("round %d: no frames with windows %d (connection) and %d (stream) open", round, connWin, stWin)
				}
				data := 0
				for _, f := range fs {
					switch {
					case f.Type == codec.FrameHeaders && !sawHeaders:
						sawHeaders = true
						continue
					case f.Type != codec.FrameData || f.StreamID != 1:
						t.Fatalf("round %d: %v on stream %d", round, f.Type, f.StreamID)
					case ended:
						t.Fatal("DATA after END_STREAM")
					case len(f.p) > codec.DefaultMaxFrameSize:
						t.Fatalf("DATA of %d bytes, above MAX_FRAME_SIZE", len(f.p))
					}
					data += len(f.p)
					got = append(got, f.p...)
					ended = f.Flags.Has(codec.FlagEndStream)
				}
				if data > min(connWin, stWin) {
					t.Fatalf("round %d: %d bytes of DATA with windows %d (connection) and %d (stream)", round, data, connWin, stWin)
				}
				if byRef < data*9/10 {
					t.Fatalf("round %d: %d of %d payload bytes by reference", round, byRef, data)
				}
				connWin -= data
				stWin -= data
				if ended {
					break
				}
				if connWin > 0 && stWin > 0 && len(got) < len(body) {
					t.Fatalf("round %d: framing stopped with windows %d and %d open", round, connWin, stWin)
				}
				// Open the exhausted windows a little, in turn.
				if round%2 == 0 {
					tc.feed(codec.AppendWindowUpdate(nil, 0, 30000))
					tc.feed(codec.AppendWindowUpdate(nil, 1, 25000))
					connWin += 30000
					stWin += 25000
				} else {
					tc.feed(codec.AppendWindowUpdate(nil, 1, 50000))
					tc.feed(codec.AppendWindowUpdate(nil, 0, 12345))
					stWin += 50000
					connWin += 12345
				}
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("body of %d bytes differs from the %d sent", len(got), len(body))
			}
			if tc.cb.released != 1 {
				t.Fatalf("%d requests released, want 1", tc.cb.released)
			}
		})
	}
}

// TestOutputSegmentsSameBytes: the output taken as segments (with writes
// cut anywhere) is byte for byte the output Output gives, for several
// streams with static and copied bodies of every size, interleaved by the
// scheduler, with control frames in between.
func TestOutputSegmentsSameBytes(t *testing.T) {
	static := pattern(200_000)
	run := func(take func(c *Conn) []byte) []byte {
		tc := newTConn(t, Config{WriteChunk: 100_000})
		tc.handshake()
		var all []byte
		sizes := []int{0, 1, 2047, 2048, 16384, 16385, 70_000, 200_000}
		for i := range sizes {
			tc.feed(tc.get(uint32(2*i+1), "/"))
		}
		for i, r := range tc.cb.reqs {
			n := sizes[i]
			if i%3 == 2 {
				r.RespBody = append(r.RespBuffer(n), static[:n]...) // copied
			} else {
				r.SetStaticBody(static[:n])
			}
			tc.c.Respond(r)
			if i == 4 {
				tc.feed(codec.AppendPing(nil, false, [8]byte{1, 2, 3}))
			}
		}
		tc.cb.reqs = nil
		all = append(all, take(tc.c)...)
		for round := 0; tc.c.ActiveStreams() > 0; round++ {
			if round > 100 {
				t.Fatal("streams did not end")
			}
			tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<20))
			for i := range sizes {
				tc.feed(codec.AppendWindowUpdate(nil, uint32(2*i+1), 1<<20))
			}
			tc.c.WritePending()
			all = append(all, take(tc.c)...)
		}
		return all
	}
	want := run(func(c *Conn) []byte {
		b := append([]byte(nil), c.Output()...)
		c.ConsumeOutput(len(b))
		return b
	})
	for _, w := range []struct{ segs, chunk int }{{64, 1 << 20}, {4, 777}, {1, 5000}} {
		got := run(func(c *Conn) []byte { b, _ := drainSegments(c, w.segs, w.chunk, static); return b })
		if !bytes.Equal(got, want) {
			t.Fatalf("segments %d, writes of %d: %d bytes differ from Output's %d", w.segs, w.chunk, len(got), len(want))
		}
	}
	// Every body arrived whole.
	bodies := map[uint32][]byte{}
	for _, f := range parseFrames(t, want) {
		if f.Type == codec.FrameData {
			bodies[f.StreamID] = append(bodies[f.StreamID], f.p...)
		}
	}
	for i, n := range []int{0, 1, 2047, 2048, 16384, 16385, 70_000, 200_000} {
		if b := bodies[uint32(2*i+1)]; !bytes.Equal(b, static[:n]) {
			t.Fatalf("stream %d: %d bytes, want %d", 2*i+1, len(b), n)
		}
	}
}

// TestOutputSegmentsPartialThenOutput: after a partial write of a
// referenced payload, Output copies in exactly what is left.
func TestOutputSegmentsPartialThenOutput(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	body := pattern(50_000)
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	r.SetStaticBody(body)
	tc.c.Respond(r)
	total := tc.c.OutputLen()
	segs := tc.c.OutputSegments(make([][]byte, 0, 16))
	var first []byte
	for _, s := range segs {
		first = append(first, s...)
	}
	if len(first) != total {
		t.Fatalf("segments hold %d bytes, OutputLen %d", len(first), total)
	}
	cut := len(first) / 3
	tc.c.ConsumeOutput(cut)
	rest := tc.c.Output()
	if !bytes.Equal(rest, first[cut:]) {
		t.Fatalf("Output after consuming %d: %d bytes, want %d", cut, len(rest), len(first)-cut)
	}
	if tc.c.OutputLen() != len(rest) {
		t.Fatalf("OutputLen %d after Output, want %d", tc.c.OutputLen(), len(rest))
	}
}

// TestStaticBodySegmentsAllocs: serving a static body of several frames
// by reference, taking the output as segments, allocates nothing.
func TestStaticBodySegmentsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	tc, blk := steadyState(t)
	body := pattern(60_000)
	var buf []byte
	segs := make([][]byte, 0, 8)
	id := uint32(3)
	serve := func() {
		// (the stream's window, 65,535 bytes, takes the body)
		buf = codec.AppendWindowUpdate(buf[:0], 0, uint32(len(body)))
		buf = codec.AppendHeaders(buf, id, true, true, blk)
		if _, err := tc.c.Feed(buf); err != nil || len(tc.cb.reqs) != 1 {
			panic(fmt.Sprintf("request %d not dispatched: %v", id, err))
		}
		r := tc.cb.reqs[0]
		tc.cb.reqs = tc.cb.reqs[:0]
		r.SetStaticBody(body)
		tc.c.Respond(r)
		for tc.c.OutputLen() > 0 {
			segs = tc.c.OutputSegments(segs[:0])
			n := 0
			for _, s := range segs[:len(segs)-1] { // all but the last: a partial write
				n += len(s)
			}
			tc.c.ConsumeOutput(max(n, 1))
		}
		tc.c.ConsumeOutput(0)
		id += 2
	}
	for i := 0; i < 10; i++ {
		serve()
	}
	if allocs := testing.AllocsPerRun(500, serve); allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

// TestStaticBodyRoundSize: with windows wide open, a round frames
// WriteChunk bytes of a copied body but refChunks times that of a static
// one (held by reference, it takes no buffer).
func TestStaticBodyRoundSize(t *testing.T) {
	const chunk = 64 << 10
	body := pattern(1 << 20)
	for _, static := range []bool{false, true} {
		tc := newTConn(t, Config{WriteChunk: chunk})
		tc.handshake()
		tc.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1 << 30}))
		tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<30))
		tc.next() // SETTINGS ACK
		tc.feed(tc.get(1, "/"))
		r := tc.cb.reqs[0]
		if static {
			r.SetStaticBody(body)
		} else {
			r.RespBody = append(r.RespBuffer(len(body)), body...)
		}
		tc.c.Respond(r)
		n, buffered := tc.c.OutputLen(), tc.c.OutputLen()-tc.c.OutputReferenced()
		limit := chunk
		if static {
			limit = refChunks * chunk
		}
		if n < limit || n > limit+codec.DefaultMaxFrameSize+1024 {
			t.Fatalf("static %v: %d bytes framed in a round, want %d (plus a frame)", static, n, limit)
		}
		if static && buffered > 8<<10 {
			t.Fatalf("%d bytes of a static body's round in the buffer", buffered)
		}
	}
}
