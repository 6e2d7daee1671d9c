package engine

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// Known HTTP/2 attacks, frame by frame: each gets its exact defined answer, a
// counter and a log line, and the engine's memory stays bounded.

// countingCB is the kit's fakeCB that also counts acquisitions, so a test can
// prove every Request came back.
type countingCB struct {
	*fakeCB
	acquired int
}

func (c *countingCB) AcquireRequest() *Request {
	c.acquired++
	return c.fakeCB.AcquireRequest()
}

// attackConn is a handshaken kit connection with its own metrics, a log
// collector and counted requests.
type attackConn struct {
	*tconn
	m    *Metrics
	cb   *countingCB
	logs []string
}

func newAttackConn(t *testing.T, cfg Config) *attackConn {
	t.Helper()
	a := &attackConn{m: new(Metrics)}
	cfg.Logf = func(format string, args ...any) { a.logs = append(a.logs, fmt.Sprintf(format, args...)) }
	a.tconn = newTConn(t, cfg)
	a.cb = &countingCB{fakeCB: a.tconn.cb}
	a.tconn.c = NewConn(&a.tconn.cfg, a.cb, a.m, a.tconn.now)
	a.handshake()
	return a
}

// frames parses every frame of the output (and consumes it), checking that
// each is well formed.
func (a *attackConn) frames() []frame {
	a.t.Helper()
	var fs []frame
	for len(a.c.Output()) > 0 {
		out := a.c.Output()
		if len(out) < codec.FrameHeaderLen {
			a.t.Fatalf("%d trailing bytes in the output", len(out))
		}
		if h := codec.ParseFrameHeader(out); codec.FrameHeaderLen+int(h.Length) > len(out) {
			a.t.Fatalf("truncated %v frame in the output", h.Type)
		}
		fs = append(fs, a.next())
	}
	return fs
}

// wantCalm checks that the output ends with GOAWAY(ENHANCE_YOUR_CALM), that
// nothing follows it, that the connection is closed and counted, and that a
// log line says why. It returns the frames before the GOAWAY.
func (a *attackConn) wantCalm(reason string) []frame {
	a.t.Helper()
	return a.wantGoAwayLast(codec.ErrCodeEnhanceYourCalm, reason)
}

func (a *attackConn) wantGoAwayLast(code codec.ErrCode, reason string) []frame {
	a.t.Helper()
	fs := a.frames()
	if len(fs) == 0 {
		a.t.Fatalf("no output, want GOAWAY %v", code)
	}
	last := fs[len(fs)-1]
	if last.Type != codec.FrameGoAway {
		a.t.Fatalf("last frame %v, want GOAWAY %v", last.Type, code)
	}
	ga, err := codec.ParseGoAway(last.FrameHeader, last.p)
	if err != nil || ga.Code != code || !strings.Contains(string(ga.DebugData), reason) {
		a.t.Fatalf("GOAWAY %v %q (%v), want %v %q", ga.Code, ga.DebugData, err, code, reason)
	}
	for _, f := range fs[:len(fs)-1] {
		if f.Type == codec.FrameGoAway {
			a.t.Fatalf("two GOAWAY frames")
		}
	}
	if !a.c.Closed() {
		a.t.Fatal("connection open after GOAWAY")
	}
	if _, err := a.c.Feed(codec.AppendPing(nil, false, [8]byte{})); err == nil || len(a.c.Output()) != 0 {
		a.t.Fatalf("a closed connection still answers: %v, %d bytes", err, len(a.c.Output()))
	}
	a.wantLog(reason)
	return fs[:len(fs)-1]
}

func (a *attackConn) wantLog(substr string) {
	a.t.Helper()
	for _, l := range a.logs {
		if strings.Contains(l, substr) {
			return
		}
	}
	a.t.Fatalf("no log line with %q in %q", substr, a.logs)
}

// finish ends every handler still running and checks that every Request
// acquired from the callbacks was released.
func (a *attackConn) finish() {
	a.t.Helper()
	a.c.Abort()
	for _, r := range a.cb.reqs {
		if !r.HandlerDone() {
			a.c.HandlerDone(r)
		}
	}
	a.cb.reqs = nil
	if a.cb.acquired != a.cb.released || a.c.ActiveStreams() != 0 {
		a.t.Fatalf("acquired %d requests, released %d; %d streams active", a.cb.acquired, a.cb.released, a.c.ActiveStreams())
	}
	if n := a.m.Panics.Load(); n != 0 {
		a.t.Fatalf("%d illegal request lifecycle events: %q", n, a.logs)
	}
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func count(fs []frame, t codec.FrameType) int {
	n := 0
	for _, f := range fs {
		if f.Type == t {
			n++
		}
	}
	return n
}

// CVE-2023-44487: HEADERS then RST_STREAM, over and over; each stream starts
// a handler that is canceled at once.
func TestAttackRapidReset(t *testing.T) {
	a := newAttackConn(t, Config{}) // 200 resets a second, burst 400
	var b []byte
	for id := uint32(1); id < 20000; id += 2 {
		b = append(b, a.get(id, "/")...)
		b = append(b, codec.AppendRSTStream(nil, id, codec.ErrCodeCancel)...)
	}
	var n int
	var err error
	mem := allocated(func() { n, err = a.c.Feed(b) })
	if err == nil || n >= len(b) {
		t.Fatalf("Feed consumed %d of %d bytes, err %v", n, len(b), err)
	}
	a.wantCalm("resets")
	// The 401st reset of the second crosses the limit: streams 1..801.
	if got := a.m.ResetsReceived.Load(); got != 401 {
		t.Fatalf("ResetsReceived %d, want 401", got)
	}
	if a.m.FloodErrors.Load() != 1 || a.m.ConnErrors.Load() != 1 || a.m.Requests.Load() != 401 {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	t.Logf("10000 HEADERS+RST_STREAM: %d bytes allocated", mem)
	limit := uint64(1 << 20) // about 240 KB measured
	if raceEnabled {
		limit = 16 << 20 // sync.Pool drops items at random under -race: about 4 MB measured
	}
	if mem > limit {
		t.Fatalf("rapid reset allocated %d bytes, limit %d", mem, limit)
	}
	a.finish()
}

// The reset budget is per second: a client that stays under it is served.
func TestRapidResetBudgetRefills(t *testing.T) {
	a := newAttackConn(t, Config{MaxResetsPerSecond: 50})
	id := uint32(1)
	for sec := 0; sec < 5; sec++ {
		var b []byte
		for i := 0; i < 100; i++ { // the burst: 2x the rate
			b = append(b, a.get(id, "/")...)
			b = append(b, codec.AppendRSTStream(nil, id, codec.ErrCodeCancel)...)
			id += 2
		}
		if err := a.feed(b); err != nil {
			t.Fatalf("second %d: %v", sec, err)
		}
		a.now = a.now.Add(time.Second)
		if err := a.c.Tick(a.now); err != nil {
			t.Fatal(err)
		}
	}
	if a.c.Closed() || a.m.FloodErrors.Load() != 0 {
		t.Fatal("closed under the budget")
	}
	a.finish()
}

// MadeYouReset (CVE-2025-8671): the client makes the server reset streams
// (here with a zero WINDOW_UPDATE increment, a stream error) instead of
// resetting them itself. The server's resets of started streams count like
// the client's own, even when the client reads every answer.
func TestAttackMadeYouReset(t *testing.T) {
	a := newAttackConn(t, Config{})
	id := uint32(1)
	for i := 0; i < 1000 && !a.c.Closed(); i++ {
		b := a.get(id, "/")
		b = append(b, codec.AppendWindowUpdate(nil, id, 0)...)
		a.c.Feed(b)
		id += 2
		if !a.c.Closed() {
			fs := a.frames() // the client reads everything
			if len(fs) != 1 || fs[0].Type != codec.FrameRSTStream {
				t.Fatalf("stream %d: %d frames, want RST_STREAM", id, len(fs))
			}
		}
	}
	a.wantCalm("resets")
	if got := a.m.Requests.Load(); got != 401 {
		t.Fatalf("%d handlers started, want 401", got)
	}
	a.finish()
}

// PING flood from a client that never reads: the PING ACKs queue up to
// MaxQueuedControlFrames, then GOAWAY(ENHANCE_YOUR_CALM).
func TestAttackPingFlood(t *testing.T) {
	a := newAttackConn(t, Config{})
	ping := codec.AppendPing(nil, false, [8]byte{'f', 'l', 'o', 'o', 'd'})
	b := bytes.Repeat(ping, 50000)
	a.c.Feed(b)
	if got := len(a.c.Output()); got > 10001*len(ping)+100 {
		t.Fatalf("%d bytes of output queued", got)
	}
	fs := a.wantCalm("control frames")
	// The ACK that crosses the limit is queued before the GOAWAY.
	if n := count(fs, codec.FramePing); n != 10001 {
		t.Fatalf("%d PING ACKs before GOAWAY, want 10001", n)
	}
	if a.m.FloodErrors.Load() != 1 {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	a.finish()
}

// A client that reads its PING ACKs is answered however many it sends.
func TestPingsReadAreAnswered(t *testing.T) {
	a := newAttackConn(t, Config{})
	b := bytes.Repeat(codec.AppendPing(nil, false, [8]byte{1}), 1000)
	for i := 0; i < 30; i++ {
		a.feed(b)
		if n := count(a.frames(), codec.FramePing); n != 1000 {
			t.Fatalf("round %d: %d PING ACKs", i, n)
		}
	}
	if a.c.Closed() {
		t.Fatal("closed")
	}
}

// SETTINGS flood without reading: the ACKs are control frames too.
func TestAttackSettingsFlood(t *testing.T) {
	a := newAttackConn(t, Config{MaxQueuedControlFrames: 500})
	s := codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 70000},
		codec.Setting{ID: codec.SettingMaxFrameSize, Value: 16384})
	a.c.Feed(bytes.Repeat(s, 5000))
	fs := a.wantCalm("control frames")
	if n := count(fs, codec.FrameSettings); n != 501 {
		t.Fatalf("%d SETTINGS ACKs before GOAWAY, want 501", n)
	}
	if a.m.FloodErrors.Load() != 1 {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	a.finish()
}

// One SETTINGS frame with as many entries as a frame holds costs one ACK.
func TestSettingsManyEntries(t *testing.T) {
	a := newAttackConn(t, Config{})
	var set []codec.Setting
	for i := 0; i < codec.DefaultMaxFrameSize/6; i++ {
		set = append(set, codec.Setting{ID: codec.SettingID(0x100 + i%100), Value: uint32(i)})
	}
	a.feed(codec.AppendSettings(nil, set...))
	fs := a.frames()
	if len(fs) != 1 || fs[0].Type != codec.FrameSettings || !fs[0].Flags.Has(codec.FlagAck) {
		t.Fatalf("answer %v", fs)
	}
}

// CVE-2024-27316 and its family: a field block that never ends.
func TestAttackContinuationFlood(t *testing.T) {
	for _, tc := range []struct {
		name string
		frag []byte // payload of each CONTINUATION
	}{
		{"empty frames", nil},
		{"one byte frames", []byte{0x82}}, // indexed :method GET, over and over
		{"full frames", bytes.Repeat([]byte{0x82}, 16384)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAttackConn(t, Config{})
			b := codec.AppendHeaders(nil, 1, true, false, a.headerBlock(":method", "GET", ":scheme", "http", ":path", "/"))
			for i := 0; i < 1000; i++ {
				b = codec.AppendContinuation(b, 1, false, tc.frag)
			}
			var err error
			mem := allocated(func() { _, err = a.c.Feed(b) })
			if err == nil {
				t.Fatal("no error")
			}
			a.wantCalm("CONTINUATION")
			if a.m.FloodErrors.Load() != 1 || len(a.cb.reqs) != 0 {
				t.Fatalf("metrics %v, %d dispatched", a.m.Snapshot(), len(a.cb.reqs))
			}
			if mem > 2<<20 {
				t.Fatalf("allocated %d bytes", mem)
			}
			a.finish()
		})
	}
}

// MaxHeaderBlockFrames counts the HEADERS frame too: 64 frames pass, 65 do not.
func TestContinuationLimitExact(t *testing.T) {
	for _, conts := range []int{63, 64} {
		a := newAttackConn(t, Config{})
		blk := a.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x")
		b := codec.AppendHeaders(nil, 1, true, false, blk[:1])
		rest := blk[1:]
		for i := 0; i < conts; i++ {
			var frag []byte
			if i == 0 {
				frag = rest
			}
			b = codec.AppendContinuation(b, 1, i == conts-1, frag)
		}
		a.c.Feed(b)
		if conts == 63 {
			if a.c.Closed() || len(a.cb.reqs) != 1 {
				t.Fatalf("64 frames: closed %v, %d dispatched", a.c.Closed(), len(a.cb.reqs))
			}
		} else {
			a.wantCalm("CONTINUATION")
		}
		a.finish()
	}
}

// A field block dribbled out slower than HeaderTimeout.
func TestAttackSlowHeaders(t *testing.T) {
	a := newAttackConn(t, Config{HeaderTimeout: 5 * time.Second})
	a.feed(codec.AppendHeaders(nil, 1, true, false, a.headerBlock(":method", "GET")))
	for i := 0; i < 10 && !a.c.Closed(); i++ {
		a.now = a.now.Add(time.Second)
		a.c.Tick(a.now)
		if !a.c.Closed() {
			a.feed(codec.AppendContinuation(nil, 1, false, nil))
		}
	}
	a.wantCalm("header block not completed in time")
	if a.m.Timeouts.Load() != 1 {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	a.finish()
}

// HPACK bomb: one 4 KB field enters the client's dynamic table, then one-byte
// references to it expand a 64 KB block into a header list of 260 MB. The
// answer is 431, the decoder stops storing at MaxHeaderListSize, and the HPACK
// state stays in sync for the next request.
func TestAttackHPACKBomb(t *testing.T) {
	a := newAttackConn(t, Config{})
	big := strings.Repeat("b", 4000)
	kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x"}
	for i := 0; i < 64000; i++ {
		kv = append(kv, "x-bomb", big) // the encoder indexes it once, then refers to it
	}
	blk := a.headerBlock(kv...)
	if len(blk) > 70000 {
		t.Fatalf("bomb block is %d bytes: the references were not indexed", len(blk))
	}
	b := codec.AppendHeaderBlock(nil, 1, true, blk, codec.DefaultMaxFrameSize)
	mem := allocated(func() { a.feed(b) })
	status, _, end := a.response(1)
	if status != "431" || !end {
		t.Fatalf("status %q end %v", status, end)
	}
	if a.m.HeaderTooLarge.Load() != 1 || len(a.cb.reqs) != 0 {
		t.Fatalf("metrics %v, %d dispatched", a.m.Snapshot(), len(a.cb.reqs))
	}
	a.wantLog("header section above")
	t.Logf("a %d-byte block expanding to %d MB: %d bytes allocated", len(blk), 64000*(6+4000+32)>>20, mem)
	if mem > 2<<20 {
		t.Fatalf("decoding the bomb allocated %d bytes", mem)
	}
	// The dynamic tables still agree: a request using the indexed field decodes.
	a.feed(codec.AppendHeaders(nil, 3, true, true, a.headerBlock(":method", "GET", ":scheme", "http", ":path", "/next", "x-bomb", big)))
	if len(a.cb.reqs) != 1 || a.cb.reqs[0].Header.Path != "/next" {
		t.Fatalf("request after the bomb: %d dispatched", len(a.cb.reqs))
	}
	if v, _ := a.cb.reqs[0].Header.Get("x-bomb"); v != big {
		t.Fatal("indexed field lost")
	}
	a.finish()
}

// The same bomb in a trailer section resets the stream.
func TestAttackHPACKBombTrailers(t *testing.T) {
	a := newAttackConn(t, Config{})
	a.feed(a.post(1, "/upload"))
	kv := []string{}
	for i := 0; i < 20000; i++ {
		kv = append(kv, "x-bomb", strings.Repeat("t", 4000))
	}
	a.feed(codec.AppendHeaderBlock(nil, 1, true, a.headerBlock(kv...), codec.DefaultMaxFrameSize))
	a.wantRST(1, codec.ErrCodeProtocol)
	// The handler started with the headers; it sees its request canceled.
	if a.m.HeaderTooLarge.Load() != 1 || len(a.cb.reqs) != 1 || !a.cb.reqs[0].Canceled || a.c.Closed() {
		t.Fatalf("metrics %v, %d dispatched", a.m.Snapshot(), len(a.cb.reqs))
	}
	a.finish()
}

// A single literal far longer than the header list limit cannot be skipped:
// COMPRESSION_ERROR, with the string buffer bounded.
func TestAttackHugeLiteral(t *testing.T) {
	a := newAttackConn(t, Config{MaxHeaderListSize: 4096})
	blk := a.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", "x-huge", strings.Repeat("h", 1<<20))
	b := codec.AppendHeaderBlock(nil, 1, true, blk, codec.DefaultMaxFrameSize)
	var mem uint64
	mem = allocated(func() { a.c.Feed(b) })
	a.wantGoAwayLast(codec.ErrCodeCompression, "longer than")
	if mem > 2<<20 {
		t.Fatalf("allocated %d bytes", mem)
	}
	a.finish()
}

// CVE-2019-9518: frames that cost work and carry nothing: empty DATA frames,
// padding-only DATA frames, unknown frame types.
func TestAttackEmptyFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame func(a *attackConn) []byte
	}{
		{"empty DATA", func(*attackConn) []byte { return codec.AppendData(nil, 1, false, nil) }},
		{"padding-only DATA", func(*attackConn) []byte { return codec.AppendDataPadded(nil, 1, false, nil, 10) }},
		{"unknown type", func(*attackConn) []byte {
			return codec.AppendFrameHeader(nil, codec.FrameHeader{Type: 0xbb, StreamID: 1})
		}},
		{"WINDOW_UPDATE on a closed stream", func(*attackConn) []byte { return codec.AppendWindowUpdate(nil, 1, 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{MaxUselessFrames: 1000}
			if strings.HasPrefix(tc.name, "WINDOW_UPDATE") {
				cfg.MaxWindowUpdatesPerDataFrame = 1 << 20 // the useless-frame count is under test
			}
			a := newAttackConn(t, cfg)
			if strings.HasPrefix(tc.name, "WINDOW_UPDATE") {
				a.feed(a.get(1, "/"))
				a.serveAll("x")
				a.frames()
			} else {
				a.feed(a.post(1, "/upload"))
			}
			f := tc.frame(a)
			var b []byte
			for i := 0; i < 1000; i++ {
				b = append(b, f...)
			}
			if err := a.feed(b); err != nil {
				t.Fatalf("1000 frames: %v", err)
			}
			for _, f := range a.frames() {
				if f.Type != codec.FrameWindowUpdate {
					t.Fatalf("answered with %v", f.Type)
				}
			}
			a.c.Feed(f)
			a.wantCalm("frames that do no work")
			if a.m.FloodErrors.Load() != 1 {
				t.Fatalf("metrics %v", a.m.Snapshot())
			}
			a.finish()
		})
	}
}

// The useless-frame count decays with each request served: a client that
// sends a few such frames per request is never cut off.
func TestUselessFramesDecay(t *testing.T) {
	a := newAttackConn(t, Config{MaxUselessFrames: 100})
	for id := uint32(1); id < 2000; id += 2 {
		b := codec.AppendPriority(nil, id, codec.PriorityParam{StreamDep: 0, Weight: 10})
		b = append(b, a.get(id, "/")...)
		a.feed(b)
		a.serveAll("ok")
		a.frames()
	}
	if a.c.Closed() {
		t.Fatal("closed")
	}
	a.finish()
}

// CVE-2019-9513: PRIORITY frames reshuffling a dependency tree. They build no
// state (the engine ignores priorities) and count as frames doing no work.
func TestAttackPriorityShuffle(t *testing.T) {
	a := newAttackConn(t, Config{})
	var b []byte
	for i := 0; i < 10000; i++ {
		id := uint32(2*(i%5000) + 1)
		dep := uint32(2*((i*7919)%5000) + 1)
		if dep == id {
			dep += 2
		}
		b = codec.AppendPriority(b, id, codec.PriorityParam{StreamDep: dep, Exclusive: i%2 == 0, Weight: uint8(i)})
	}
	mem := allocated(func() {
		if err := a.feed(b); err != nil {
			t.Fatal(err)
		}
	})
	a.noFrames()
	if mem > 64<<10 {
		t.Fatalf("10000 PRIORITY frames allocated %d bytes", mem)
	}
	if a.c.ActiveStreams() != 0 {
		t.Fatal("PRIORITY opened streams")
	}
	// PRIORITY does not open streams: stream 1 is still idle and usable.
	a.c.Feed(a.get(1, "/"))
	if len(a.cb.reqs) != 1 {
		t.Fatal("stream 1 unusable after PRIORITY frames")
	}
	a.c.Feed(codec.AppendPriority(nil, 3, codec.PriorityParam{StreamDep: 1}))
	a.c.Feed(codec.AppendPriority(nil, 3, codec.PriorityParam{StreamDep: 1}))
	a.wantCalm("frames that do no work")
	a.finish()
}

// WINDOW_UPDATE flood: increments that unblock nothing. They produce no
// output (no amplification); past MaxWindowUpdatesPerDataFrame times the DATA
// frames sent (plus a start allowance) they are a flood.
func TestAttackWindowUpdateFlood(t *testing.T) {
	a := newAttackConn(t, Config{})
	a.feed(a.post(1, "/upload"))
	var b []byte
	for i := 0; i < 5000; i++ {
		b = codec.AppendWindowUpdate(b, uint32(i%2), 1)
	}
	a.c.Feed(b)
	fs := a.wantCalm("WINDOW_UPDATE")
	if len(fs) != 0 {
		t.Fatalf("%d frames answered a WINDOW_UPDATE flood", len(fs))
	}
	if a.m.FloodErrors.Load() != 1 {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	a.finish()
}

// A client that returns credit as data arrives sends about two
// WINDOW_UPDATE frames per DATA frame: never a flood.
func TestWindowUpdatesForDataAreFine(t *testing.T) {
	a := newAttackConn(t, Config{})
	a.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 100}))
	a.frames()
	a.feed(a.get(1, "/"))
	a.serveAll(strings.Repeat("z", 1<<20))
	a.response(1)
	got := 0
	for got < 1<<20 {
		fs := a.frames()
		for _, f := range fs {
			if f.Type != codec.FrameData {
				code, _ := codec.ParseRSTStream(f.FrameHeader, f.p)
				t.Fatalf("%v on %d (%v) after %d bytes", f.Type, f.StreamID, code, got)
			}
			got += len(f.p)
			// Returned in two halves on each window: four frames per DATA.
			half := uint32(len(f.p) / 2)
			for _, incr := range []uint32{half, uint32(len(f.p)) - half} {
				if incr > 0 {
					a.feed(codec.AppendWindowUpdate(nil, 1, incr))
					a.feed(codec.AppendWindowUpdate(nil, 0, incr))
				}
			}
		}
		if len(fs) == 0 {
			t.Fatalf("stalled at %d bytes", got)
		}
	}
	if a.c.Closed() {
		t.Fatal("closed")
	}
	a.finish()
}

// Window overflow is a FLOW_CONTROL_ERROR on the connection and on a stream.
func TestWindowOverflow(t *testing.T) {
	a := newAttackConn(t, Config{})
	a.feed(a.get(1, "/"))
	a.feed(codec.AppendWindowUpdate(nil, 1, 1<<31-1))
	a.wantRST(1, codec.ErrCodeFlowControl)
	a.c.Feed(codec.AppendWindowUpdate(nil, 0, 1<<31-1-65535+1))
	a.wantGoAwayLast(codec.ErrCodeFlowControl, "window")
	a.finish()
}

// Stream exhaustion: streams beyond MAX_CONCURRENT_STREAMS are refused; the
// active count never passes the limit, and freed slots are reusable.
func TestAttackStreamExhaustion(t *testing.T) {
	a := newAttackConn(t, Config{MaxConcurrentStreams: 100})
	var b []byte
	for id := uint32(1); id < 2*1000; id += 2 {
		b = append(b, a.post(id, "/hold")...) // never finished
	}
	mem := allocated(func() { a.feed(b) })
	fs := a.frames()
	if n := count(fs, codec.FrameRSTStream); n != 900 || len(fs) != 900 {
		t.Fatalf("%d frames, %d RST_STREAM, want 900", len(fs), n)
	}
	for _, f := range fs {
		if code, _ := codec.ParseRSTStream(f.FrameHeader, f.p); code != codec.ErrCodeRefusedStream || f.StreamID <= 199 {
			t.Fatalf("RST_STREAM(%d, %v)", f.StreamID, code)
		}
	}
	if a.c.ActiveStreams() != 100 || a.m.Refused.Load() != 900 {
		t.Fatalf("active %d, metrics %v", a.c.ActiveStreams(), a.m.Snapshot())
	}
	a.wantLog("concurrent stream limit")
	if mem > 2<<20 {
		t.Fatalf("allocated %d bytes", mem)
	}
	// One stream ends; a new one fits.
	if len(a.cb.reqs) != 100 {
		t.Fatalf("%d handlers started, want 100", len(a.cb.reqs))
	}
	a.feed(codec.AppendRSTStream(nil, 1, codec.ErrCodeCancel))
	a.feed(a.get(2001, "/"))
	if len(a.cb.reqs) != 101 || a.c.ActiveStreams() != 100 {
		t.Fatalf("%d dispatched, %d active", len(a.cb.reqs), a.c.ActiveStreams())
	}
	a.finish()
}

// CVE-2019-9517 (internal data buffering) and slow reading: many streams ask
// for big responses; the client either never opens its windows, or opens them
// wide and never reads the socket. Output stays bounded by the windows, or by
// WriteChunk per write round.
func TestAttackSlowRead(t *testing.T) {
	const streams, size = 100, 1 << 20
	t.Run("zero window", func(t *testing.T) {
		a := newAttackConn(t, Config{})
		for id := uint32(1); id < 2*streams; id += 2 {
			a.feed(a.get(id, "/big"))
		}
		a.serveAll(strings.Repeat("d", size))
		for i := 0; i < 10; i++ {
			a.c.WritePending()
		}
		var data int
		for _, f := range a.frames() {
			if f.Type == codec.FrameData {
				data += len(f.p)
			}
		}
		if data != 65535 {
			t.Fatalf("%d DATA bytes sent without window updates, want 65535", data)
		}
		if a.c.HasPendingData() {
			t.Fatal("HasPendingData with a closed connection window")
		}
		// Nothing more comes, whatever the transport does.
		a.c.WritePending()
		a.noFrames()
		a.finish()
	})
	t.Run("open windows, unread socket", func(t *testing.T) {
		a := newAttackConn(t, Config{WriteChunk: 64 << 10})
		a.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1<<31 - 1}))
		a.feed(codec.AppendWindowUpdate(nil, 0, 1<<31-1-65535))
		a.frames()
		for id := uint32(1); id < 2*streams; id += 2 {
			a.feed(a.get(id, "/big"))
		}
		a.serveAll(strings.Repeat("d", size))
		// The transport never manages to write: Output only grows when it
		// asks for more, and each round adds at most WriteChunk plus a frame.
		if got := len(a.c.Output()); got > 64<<10+16384+streams*64 {
			t.Fatalf("%d bytes of output after the responses", got)
		}
		if !a.c.HasPendingData() {
			t.Fatal("no pending data")
		}
		a.finish()
	})
}

// Request smuggling: every way of making the message length or the
// connection semantics ambiguous is a malformed request (§8.1.1, §8.2.2):
// RST_STREAM(PROTOCOL_ERROR), a counter, a log line, and no handler sees it.
func TestAttackSmuggling(t *testing.T) {
	req := []string{":method", "POST", ":scheme", "http", ":path", "/", ":authority", "x"}
	with := func(kv ...string) []string { return append(append([]string(nil), req...), kv...) }
	cases := []struct {
		name   string
		fields []string
		body   []string // DATA payloads; the last one carries END_STREAM (none: END_STREAM on HEADERS)
	}{
		{"content-length above the body", with("content-length", "10"), []string{"short"}},
		{"content-length below the body", with("content-length", "3"), []string{"longer", ""}},
		{"content-length 0 with a body", with("content-length", "0"), []string{"x"}},
		{"content-length without a body", with("content-length", "5"), nil},
		{"content-length across frames", with("content-length", "4"), []string{"ab", "cd", "e"}},
		{"two content-lengths", with("content-length", "5", "content-length", "6"), []string{"hello"}},
		{"content-length list", with("content-length", "5, 5"), []string{"hello"}},
		{"content-length sign", with("content-length", "+5"), []string{"hello"}},
		{"content-length negative", with("content-length", "-1"), nil},
		{"content-length hex", with("content-length", "0x5"), []string{"hello"}},
		{"content-length overflow", with("content-length", "99999999999999999999"), nil},
		{"content-length space", with("content-length", " 5"), []string{"hello"}},
		{"transfer-encoding", with("transfer-encoding", "chunked"), []string{"5\r\nhello\r\n0\r\n\r\n"}},
		{"te gzip", with("te", "gzip"), nil},
		{"te trailers, chunked", with("te", "trailers, chunked"), nil},
		{"connection", with("connection", "close"), nil},
		{"keep-alive", with("keep-alive", "timeout=5"), nil},
		{"proxy-connection", with("proxy-connection", "keep-alive"), nil},
		{"upgrade", with("upgrade", "websocket"), nil},
		{"CRLF in a value", with("x-a", "b\r\nx-injected: 1"), nil},
		{"LF in a value", with("x-a", "b\nGET / HTTP/1.1"), nil},
		{"NUL in a value", with("x-a", "b\x00c"), nil},
		{"CRLF in :path", []string{":method", "GET", ":scheme", "http", ":path", "/ HTTP/1.1\r\nHost: evil", ":authority", "x"}, nil},
		{"space in a name", with("x a", "b"), nil},
		{"colon in a name", with("x:a", "b"), nil},
		{"uppercase name", with("Content-Length", "0"), nil},
		{"empty name", with("", "b"), nil},
		{"pseudo after regular", append(with("x-a", "b"), ":authority", "y"), nil},
		{"unknown pseudo", with(":foo", "bar"), nil},
		{"duplicate :path", append([]string{":path", "/admin"}, req...), nil},
		{":status in a request", append([]string{":status", "200"}, req...), nil},
		{"missing :method", []string{":scheme", "http", ":path", "/"}, nil},
		{"missing :path", []string{":method", "GET", ":scheme", "http"}, nil},
		{"empty :path", []string{":method", "GET", ":scheme", "http", ":path", ""}, nil},
		{"CONNECT with :path", []string{":method", "CONNECT", ":scheme", "http", ":path", "/", ":authority", "x:1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAttackConn(t, Config{})
			b := codec.AppendHeaders(nil, 1, len(c.body) == 0, true, a.headerBlock(c.fields...))
			for i, d := range c.body {
				b = codec.AppendData(b, 1, i == len(c.body)-1, []byte(d))
			}
			a.feed(b)
			a.wantRST(1, codec.ErrCodeProtocol)
			for _, f := range a.frames() {
				if f.Type != codec.FrameWindowUpdate {
					t.Fatalf("then %v", f.Type)
				}
			}
			if len(a.cb.reqs) != 0 {
				t.Fatalf("handler started for %s %s", a.cb.reqs[0].Header.Method, a.cb.reqs[0].Header.Path)
			}
			if a.m.Malformed.Load() != 1 || a.c.Closed() {
				t.Fatalf("closed %v, metrics %v", a.c.Closed(), a.m.Snapshot())
			}
			a.wantLog("stream 1 reset")
			// The connection goes on, its HPACK state in sync.
			a.feed(a.get(3, "/after"))
			if len(a.cb.reqs) != 1 || a.cb.reqs[0].Header.Path != "/after" {
				t.Fatal("next request lost")
			}
			a.finish()
		})
	}
}

// Smuggling through trailers: trailers are not a second header section.
func TestAttackSmugglingTrailers(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		end    bool
	}{
		{"pseudo-header", []string{":path", "/admin"}, true},
		{"content-length", []string{"transfer-encoding", "chunked"}, true},
		{"connection", []string{"connection", "close"}, true},
		{"without END_STREAM", []string{"x-checksum", "1"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAttackConn(t, Config{})
			a.feed(a.post(1, "/upload"))
			a.feed(codec.AppendData(nil, 1, false, []byte("body")))
			a.feed(codec.AppendHeaders(nil, 1, c.end, true, a.headerBlock(c.fields...)))
			a.wantRST(1, codec.ErrCodeProtocol)
			// The handler started with the headers: it sees its request
			// canceled, never the smuggled fields.
			if len(a.cb.reqs) != 1 || !a.cb.reqs[0].Canceled || a.m.Malformed.Load() != 1 || a.cb.reqs[0].Trailer != nil && len(a.cb.reqs[0].Trailer.Fields) > 0 {
				t.Fatalf("%d dispatched, metrics %v", len(a.cb.reqs), a.m.Snapshot())
			}
			a.finish()
		})
	}
}

// A streaming handler that already runs when the body turns out longer than
// its content-length is canceled with PROTOCOL_ERROR and never sees EOF.
func TestSmugglingStreamingHandlerCanceled(t *testing.T) {
	a := newAttackConn(t, Config{})
	a.feed(a.post(1, "/upload", "content-length", "4"))
	if len(a.cb.reqs) != 1 {
		t.Fatal("not dispatched")
	}
	r := a.cb.reqs[0]
	a.feed(codec.AppendData(nil, 1, false, []byte("abcd")))
	a.feed(codec.AppendData(nil, 1, true, []byte("GET /admin")))
	a.wantRST(1, codec.ErrCodeProtocol)
	if !r.Canceled || r.CancelCode != codec.ErrCodeProtocol {
		t.Fatalf("handler not canceled: %v %v", r.Canceled, r.CancelCode)
	}
	buf := make([]byte, 64)
	n, eof := a.c.ReadBody(r, buf)
	if eof || n > 4 {
		t.Fatalf("handler read %q eof %v", buf[:n], eof)
	}
	a.finish()
}

// CVE-2019-9518 with HEADERS: empty header blocks opening stream after
// stream. Each is a malformed request the server resets, and resets the
// client provokes count against MaxResetsPerSecond.
func TestAttackEmptyHeaders(t *testing.T) {
	a := newAttackConn(t, Config{})
	var b []byte
	for id := uint32(1); id < 4000; id += 2 {
		b = codec.AppendHeaders(b, id, false, true, nil)
	}
	a.c.Feed(b)
	fs := a.wantCalm("resets")
	if n := count(fs, codec.FrameRSTStream); n != 400 {
		t.Fatalf("%d RST_STREAM before GOAWAY, want 400", n)
	}
	if len(a.cb.reqs) != 0 || a.m.Malformed.Load() != 401 {
		t.Fatalf("%d dispatched, metrics %v", len(a.cb.reqs), a.m.Snapshot())
	}
	a.finish()
}

// CVE-2019-9516: header fields with an empty name and value, 3 bytes each on
// the wire, 32 bytes each in the header list size (§6.5.2). The list limit
// stops them.
func TestAttackZeroLengthHeaders(t *testing.T) {
	a := newAttackConn(t, Config{})
	blk := a.headerBlock(":method", "GET", ":scheme", "http", ":path", "/")
	for i := 0; i < 60000; i++ {
		blk = append(blk, 0x00, 0x00, 0x00) // literal without indexing, new name "", value ""
	}
	b := codec.AppendHeaderBlock(nil, 1, true, blk, codec.DefaultMaxFrameSize)
	mem := allocated(func() { a.feed(b) })
	status, _, end := a.response(1)
	if status != "431" || !end || a.m.HeaderTooLarge.Load() != 1 {
		t.Fatalf("status %q end %v, metrics %v", status, end, a.m.Snapshot())
	}
	t.Logf("60000 empty fields: %d bytes allocated", mem)
	if mem > 1<<20 {
		t.Fatalf("allocated %d bytes", mem)
	}
	a.finish()
}

// CVE-2019-9511 (data dribble): a client that grants its window one byte at
// a time gets one-byte DATA frames: never more output than its own input
// (a 13-byte WINDOW_UPDATE buys a 10-byte frame). Changing
// SETTINGS_INITIAL_WINDOW_SIZE grants a byte to every stream at once, which
// costs at most one small frame per open stream (MaxConcurrentStreams) and
// one ACK.
func TestAttackDataDribble(t *testing.T) {
	const streams = 64
	a := newAttackConn(t, Config{MaxConcurrentStreams: streams})
	a.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 0}))
	a.feed(codec.AppendWindowUpdate(nil, 0, 1<<30))
	for id := uint32(1); id < 2*streams; id += 2 {
		a.feed(a.get(id, "/"))
	}
	a.serveAll(strings.Repeat("d", 1<<20))
	a.frames()
	in, out := 0, 0
	for i := 0; i < 1000; i++ {
		wu := codec.AppendWindowUpdate(nil, uint32(2*(i%streams)+1), 1)
		in += len(wu)
		a.feed(wu)
		for _, f := range a.frames() {
			if f.Type != codec.FrameData || len(f.p) != 1 {
				t.Fatalf("%v of %d bytes", f.Type, len(f.p))
			}
			out += codec.FrameHeaderLen + len(f.p)
		}
	}
	if out > in {
		t.Fatalf("%d bytes out for %d in", out, in)
	}
	in, out = 0, 0
	for i := 0; i < 100; i++ {
		s := codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: uint32(i + 1)})
		in += len(s)
		a.feed(s)
		fs := a.frames()
		if len(fs) > streams+1 {
			t.Fatalf("one SETTINGS frame answered with %d frames", len(fs))
		}
		for _, f := range fs {
			out += codec.FrameHeaderLen + len(f.p)
		}
	}
	t.Logf("INITIAL_WINDOW_SIZE steps of one byte: %d bytes in, %d out (%d streams)", in, out, streams)
	if a.c.Closed() {
		t.Fatal("closed")
	}
	a.finish()
}

// A request body that stalls: HEADERS without END_STREAM and then nothing.
// The handler started with the headers; after StreamIdleTimeout without a
// frame either way the stream is reset with CANCEL, one timeout is counted
// and logged, and the handler sees its request canceled.
func TestAttackStalledBodyStreaming(t *testing.T) {
	const idle = 30 * time.Second
	a := newAttackConn(t, Config{StreamIdleTimeout: idle})
	a.feed(a.post(1, "/upload", "content-length", "100"))
	a.feed(codec.AppendData(nil, 1, false, []byte("0123456789"))) // 10 of 100 bytes
	if len(a.cb.reqs) != 1 {
		t.Fatalf("%d dispatched, want the streaming request", len(a.cb.reqs))
	}
	r := a.cb.reqs[0]
	a.cb.reqs = nil
	a.now = a.now.Add(idle - time.Second)
	a.c.Tick(a.now)
	a.noFrames()
	// Any frame on the stream restarts the clock.
	a.feed(codec.AppendData(nil, 1, false, []byte("0123456789")))
	a.now = a.now.Add(idle - time.Second)
	a.c.Tick(a.now)
	a.noFrames()
	a.now = a.now.Add(2 * time.Second)
	a.c.Tick(a.now)
	a.wantRST(1, codec.ErrCodeCancel)
	if !r.Canceled || a.m.Timeouts.Load() != 1 || a.c.Closed() {
		t.Fatalf("canceled %v, closed %v, metrics %v", r.Canceled, a.c.Closed(), a.m.Snapshot())
	}
	if !strings.Contains(strings.Join(a.logs, "\n"), "stream 1: request still arriving, nothing either way for 30s") {
		t.Fatalf("no log line in %q", a.logs)
	}
	a.c.Respond(r) // the handler returns
	// The connection still serves.
	a.feed(a.get(3, "/"))
	a.serveAll("ok")
	if status, _, _ := a.response(3); status != "200" {
		t.Fatalf("next request: status %q", status)
	}
	a.finish()
}

// Streams whose request is complete are not timed out however long their
// handler takes (a long poll), nor when the timeout is disabled.
func TestStreamIdleTimeoutSparesCompleteRequests(t *testing.T) {
	for _, idle := range []time.Duration{30 * time.Second, -1} {
		a := newAttackConn(t, Config{StreamIdleTimeout: idle})
		a.feed(a.get(1, "/poll"))
		if idle < 0 {
			a.feed(a.post(3, "/upload"))
		}
		for i := 0; i < 10; i++ {
			a.now = a.now.Add(time.Minute)
			a.c.Tick(a.now)
		}
		a.noFrames()
		if a.m.Timeouts.Load() != 0 {
			t.Fatalf("StreamIdleTimeout %v: metrics %v", idle, a.m.Snapshot())
		}
		a.serveAll("done")
		if status, _, _ := a.response(1); status != "200" {
			t.Fatalf("status %q", status)
		}
		a.finish()
	}
}

// An HPACK bomb repeated: every small block refers to one large table
// entry enough times to cross MaxHeaderListSize. Each costs decoding time,
// so after MaxRejectedHeaderSections of them (the count decays by one per
// request served) the connection is closed with ENHANCE_YOUR_CALM. Blocks
// the engine only decodes to keep HPACK in sync (on refused streams) count
// too.
func TestAttackHPACKBombRepeated(t *testing.T) {
	a := newAttackConn(t, Config{MaxRejectedHeaderSections: 4, MaxConcurrentStreams: 1})
	big := strings.Repeat("b", 4000)
	bomb := func(id uint32) []byte {
		kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x"}
		for i := 0; i < 20; i++ {
			kv = append(kv, "x-bomb", big)
		}
		return codec.AppendHeaderBlock(nil, id, true, a.headerBlock(kv...), codec.DefaultMaxFrameSize)
	}
	id := uint32(1)
	for i := 0; i < 4; i++ {
		a.feed(bomb(id))
		if status, _, _ := a.response(id); status != "431" {
			t.Fatalf("bomb %d: status %q", i, status)
		}
		id += 2
	}
	// A request served earns one back.
	a.feed(a.get(id, "/"))
	a.serveAll("ok")
	a.response(id)
	a.body(id)
	id += 2
	a.feed(bomb(id))
	if status, _, _ := a.response(id); status != "431" {
		t.Fatalf("bomb after a request: status %q", status)
	}
	id += 2
	// Stream 1 of 1 allowed is held open: the next bomb is refused and
	// only decoded, and it still counts.
	// (The count is 3: four bombs, less the GET and this request.)
	a.feed(a.post(id, "/hold"))
	hold := id
	id += 2
	a.feed(bomb(id))
	a.wantRST(id, codec.ErrCodeRefusedStream) // the fourth
	id += 2
	a.feed(bomb(id))
	a.wantGoAway(codec.ErrCodeEnhanceYourCalm)
	if a.m.FloodErrors.Load() != 1 || !a.c.Closed() {
		t.Fatalf("metrics %v", a.m.Snapshot())
	}
	a.wantLog("too many header sections above MaxHeaderListSize")
	_ = hold
	a.finish()
}

// The connection timers: a client that never sends its preface, one that
// never acknowledges our SETTINGS (§6.5.3: "it MAY issue a connection
// error of type SETTINGS_TIMEOUT"), and an idle connection without
// streams; each is counted as a timeout.
func TestConnectionTimeouts(t *testing.T) {
	const settings, idle = 10 * time.Second, time.Minute
	start := time.Unix(1000, 0)
	newConn := func() (*tconn, *Metrics) {
		tc := newTConn(t, Config{SettingsTimeout: settings, IdleTimeout: idle})
		m := new(Metrics)
		tc.c = NewConn(&tc.cfg, tc.cb, m, start)
		return tc, m
	}

	// No preface: closed without a frame (there is no HTTP/2 to speak).
	tc, m := newConn()
	tc.c.ConsumeOutput(len(tc.c.Output()))
	if err := tc.c.Tick(start.Add(settings - time.Second)); err != nil || tc.c.Closed() {
		t.Fatalf("closed before SettingsTimeout: %v", err)
	}
	if err := tc.c.Tick(start.Add(settings + time.Second)); err == nil || !tc.c.Closed() || m.Timeouts.Load() != 1 {
		t.Fatalf("silent client: err %v closed %v timeouts %d", err, tc.c.Closed(), m.Timeouts.Load())
	}

	// Preface and SETTINGS, but our SETTINGS never acknowledged.
	tc, m = newConn()
	tc.feed([]byte(codec.ClientPreface))
	tc.feed(codec.AppendSettings(nil))
	tc.c.ConsumeOutput(len(tc.c.Output()))
	tc.c.Tick(start.Add(settings + time.Second))
	tc.wantGoAway(codec.ErrCodeSettingsTimeout)
	if !tc.c.Closed() || m.Timeouts.Load() != 1 {
		t.Fatalf("no ACK: closed %v timeouts %d", tc.c.Closed(), m.Timeouts.Load())
	}

	// Idle: no stream for IdleTimeout after the last frame.
	tc, m = newConn()
	tc.handshake()
	tc.c.Tick(start.Add(time.Second)) // the handshake's activity is seen
	tc.c.Tick(start.Add(idle))
	tc.noFrames()
	tc.c.Tick(start.Add(idle + 2*time.Second))
	tc.wantGoAway(codec.ErrCodeNo)
	if !tc.c.Closed() || m.Timeouts.Load() != 1 {
		t.Fatalf("idle: closed %v timeouts %d", tc.c.Closed(), m.Timeouts.Load())
	}
}

// A client that grants no window to a response and never opens it: the
// stream, its handler and its buffered response would be held for as long
// as the connection lives. After StreamIdleTimeout with no frame either
// way the stream is reset with CANCEL and the handler's request canceled;
// a WINDOW_UPDATE (and the DATA it lets out) restarts the clock.
func TestAttackZeroWindowStall(t *testing.T) {
	const idle = 30 * time.Second
	a := newAttackConn(t, Config{StreamIdleTimeout: idle})
	a.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 0}))
	a.frames()
	a.feed(a.get(1, "/big"))
	r := a.cb.reqs[0]
	a.cb.reqs = nil
	r.RespBody = append(r.RespBody, make([]byte, 1000)...)
	a.c.Respond(r)
	if status, _, _ := a.response(1); status != "200" {
		t.Fatalf("status %q", status)
	}
	a.now = a.now.Add(idle - time.Second)
	a.c.Tick(a.now)
	a.noFrames()
	a.feed(codec.AppendWindowUpdate(nil, 1, 10))
	if fs := a.frames(); len(fs) != 1 || fs[0].Type != codec.FrameData || fs[0].Length != 10 {
		t.Fatalf("after WINDOW_UPDATE: %v", fs)
	}
	a.now = a.now.Add(idle - time.Second)
	a.c.Tick(a.now)
	a.noFrames()
	a.now = a.now.Add(2 * time.Second)
	a.c.Tick(a.now)
	a.wantRST(1, codec.ErrCodeCancel)
	if a.m.Timeouts.Load() != 1 || a.c.Closed() {
		t.Fatalf("closed %v, metrics %v", a.c.Closed(), a.m.Snapshot())
	}
	if !strings.Contains(strings.Join(a.logs, "\n"), "stream 1 reset: CANCEL: response blocked by flow control, no WINDOW_UPDATE for 30s") {
		t.Fatalf("no log line in %q", a.logs)
	}
	// The connection still serves.
	a.feed(a.get(3, "/"))
	a.serveAll("")
	if status, _, _ := a.response(3); status != "200" {
		t.Fatalf("next request: status %q", status)
	}
	a.finish()
}
