package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// FuzzEngine feeds arbitrary frames, after a valid preface, SETTINGS and
// SETTINGS ACK, to a Conn in chunks of random size, with handlers that answer
// in every way the API allows (small and large bodies, streaming with Flush,
// echoing the request body with automatic or manual window credit, trailers,
// cancellation, slow handlers), timer ticks, graceful shutdowns and a client
// that sometimes stops reading. The checks:
//
//   - no panic; Feed always makes progress on a complete frame;
//   - the output is a sequence of well-formed frames a client can decode:
//     frame sizes within the peer's limits, response header blocks that
//     decode with the client's HPACK context and are valid responses, no
//     frame on a stream after its end, nothing after a GOAWAY with an error;
//   - DATA stays within the flow-control windows the client granted;
//   - ActiveStreams never exceeds MaxConcurrentStreams;
//   - the output stays bounded by WriteChunk and the input;
//   - no Request is touched after its release, and once the connection is
//     aborted and the handlers return, every acquired Request is released.
func FuzzEngine(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(uint64(i), s)
	}
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		// A hang is a failure too: crash with every goroutine's stack, so
		// that the fuzzer records the input.
		debug.SetTraceback("all")
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzEngine: one input ran for 10s") })
		defer watchdog.Stop()
		h := newFuzzHarness(t, seed)
		h.run(data)
	})
}

// fuzzSeeds are client frames recorded from the kit: requests with and
// without bodies, trailers, CONTINUATION, window updates, settings, pings,
// resets and priorities.
func fuzzSeeds() [][]byte {
	// Each seed is a connection of its own: a fresh client HPACK context.
	var tc *tconn
	get := func(id uint32, path string) []byte { return tc.get(id, path) }
	var seeds [][]byte
	add := func(parts ...[]byte) {
		seeds = append(seeds, bytes.Join(parts, nil))
		tc = newTConn(nil, Config{})
	}
	tc = newTConn(nil, Config{})

	add(get(1, "/"))
	add(get(1, "/"), get(3, "/bytes/100"), get(5, "/"))
	add(tc.post(1, "/echo", "content-length", "5"), codec.AppendData(nil, 1, true, []byte("hello")))
	add(tc.post(1, "/echo"), codec.AppendData(nil, 1, false, bytes.Repeat([]byte("a"), 16000)),
		codec.AppendData(nil, 1, false, bytes.Repeat([]byte("b"), 16000)),
		codec.AppendData(nil, 1, true, []byte("end")))
	add(tc.post(1, "/trailers"), codec.AppendData(nil, 1, false, []byte("body")),
		codec.AppendHeaders(nil, 1, true, true, tc.headerBlock("x-checksum", "abc")))
	blk := tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/continued", ":authority", "example.com", "x-long", strings.Repeat("v", 300))
	add(codec.AppendHeaders(nil, 1, true, false, blk[:10]), codec.AppendContinuation(nil, 1, false, blk[10:100]),
		codec.AppendContinuation(nil, 1, true, blk[100:]))
	add(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 10},
		codec.Setting{ID: codec.SettingHeaderTableSize, Value: 0}), get(1, "/bytes/100000"),
		codec.AppendWindowUpdate(nil, 1, 100), codec.AppendWindowUpdate(nil, 0, 100000),
		codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 100000}), get(3, "/"))
	add(get(1, "/delay"), codec.AppendRSTStream(nil, 1, codec.ErrCodeCancel), get(3, "/"),
		codec.AppendPing(nil, false, [8]byte{1, 2, 3}), codec.AppendPriority(nil, 5, codec.PriorityParam{StreamDep: 3, Weight: 7}))
	add(get(1, "/"), codec.AppendGoAway(nil, 0, codec.ErrCodeNo, nil))
	add(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxFrameSize, Value: 1 << 20}), get(1, "/bytes/200000"),
		codec.AppendWindowUpdate(nil, 0, 1<<30), codec.AppendWindowUpdate(nil, 1, 1<<30))
	add(tc.post(1, "/stream"), codec.AppendData(nil, 1, false, []byte("x")), tc.post(3, "/stream"),
		codec.AppendDataPadded(nil, 3, false, []byte("padded"), 20), codec.AppendData(nil, 1, true, nil), codec.AppendData(nil, 3, true, nil))
	// RFC 9218: priorities in headers and PRIORITY_UPDATE frames, for open
	// and idle streams, while responses compete for a small window.
	add(codec.AppendPriorityUpdate(nil, 3, "u=0, i"), tc.getWith(1, "/bytes/100000", "priority", "u=6"),
		tc.getWith(3, "/bytes/50000", "priority", "u=7"), codec.AppendPriorityUpdate(nil, 1, "u=1"),
		tc.getWith(5, "/bytes/20000", "priority", "i"), codec.AppendWindowUpdate(nil, 0, 200000),
		codec.AppendPriorityUpdate(nil, 5, "u=0"), codec.AppendWindowUpdate(nil, 3, 100000))
	add(codec.AppendPriorityUpdate(nil, 9, "u=2"), codec.AppendPriorityUpdate(nil, 11, "i"), get(13, "/"))
	// Server push (when the config enables it): promises under the
	// client's stream limit and windows, then push turned off.
	add(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 1},
		codec.Setting{ID: codec.SettingInitialWindowSize, Value: 100}), get(1, "/"), get(3, "/"), get(5, "/"),
		codec.AppendWindowUpdate(nil, 2, 1000), codec.AppendRSTStream(nil, 4, codec.ErrCodeCancel),
		codec.AppendSettings(nil, codec.Setting{ID: codec.SettingEnablePush, Value: 0}), get(7, "/"), get(9, "/"))
	return seeds
}

// fuzzConfig returns small limits, so that a short input reaches them.
func fuzzConfig(rng *rand.Rand) Config {
	return Config{
		MaxConcurrentStreams:   uint32(1 + rng.IntN(6)),
		InitialConnWindow:      uint32(65535 + rng.IntN(2)*100000),
		MaxHeaderListSize:      uint32(512 + rng.IntN(8192)),
		MaxRequestBodySize:     int64(1000 + rng.IntN(200000)),
		BodyStreamThreshold:    1 + rng.IntN(40000),
		MaxQueuedControlFrames: 16 + rng.IntN(100),
		MaxResetsPerSecond:     1 + rng.IntN(20),
		MaxUselessFrames:       8 + rng.IntN(100),
		MaxHeaderBlockFrames:   2 + rng.IntN(10),
		WriteChunk:             1024 + rng.IntN(64<<10),
		HeaderTimeout:          5 * time.Second,
		EnablePush:             rng.IntN(2) == 0,
	}
}

// Handler behaviours.
const (
	hSmall = iota
	hBig
	hStream
	hEcho
	hCancel
	hSlow
	numHandlerKinds
)

type fuzzHandler struct {
	r      *Request
	kind   int
	steps  int // slow: steps left; stream: chunks left
	echoed int
}

// fuzzHarness plays the transport and the handlers around one Conn.
type fuzzHarness struct {
	t    *testing.T
	fail func(format string, args ...any) // t.Fatalf, replaceable to test the checks
	rng  *rand.Rand
	cfg  Config
	c    *Conn
	now  time.Time

	// callbacks
	acquired, released int
	live               map[*Request]bool
	handlers           []*fuzzHandler

	// input accounting (frames the Conn consumed)
	prefaceLeft  int
	connCredit   int64            // 65535 + connection WINDOW_UPDATE increments
	streamCredit map[uint32]int64 // stream WINDOW_UPDATE increments
	maxInitial   int64            // largest SETTINGS_INITIAL_WINDOW_SIZE the client sent
	tableSizes   [][]uint32       // SETTINGS_HEADER_TABLE_SIZE values of SETTINGS frames awaiting our ACK
	inSince      int              // input bytes since the output was last drained
	respSince    int              // responses started since then

	// output checking
	maxFrame    uint32
	dec         *codec.HeaderDecoder
	blk         codec.HeaderBlock
	contID      uint32 // header block in progress
	contKind    codec.BlockKind
	sentData    int64
	streamSent  map[uint32]int64
	headersOn   map[uint32]bool // response HEADERS seen
	ended       map[uint32]bool // END_STREAM or RST_STREAM seen
	goAwayErr   bool
	goAwayLast  uint32
	goAways     int
	stepping    bool            // runHandlers is running the handlers
	started     []*fuzzHandler  // handlers dispatched meanwhile (pushes)
	promised    map[uint32]bool // streams promised with PUSH_PROMISE
	lastPromise uint32
	pushOff     bool // the client's SETTINGS_ENABLE_PUSH = 0 was consumed

	staticBody []byte
}

func newFuzzHarness(t *testing.T, seed uint64) *fuzzHarness {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := &fuzzHarness{
		t:            t,
		rng:          rng,
		cfg:          fuzzConfig(rng),
		now:          time.Unix(1_000_000, 0),
		live:         map[*Request]bool{},
		connCredit:   codec.DefaultInitialWindowSize,
		streamCredit: map[uint32]int64{},
		maxInitial:   codec.DefaultInitialWindowSize,
		maxFrame:     codec.DefaultMaxFrameSize,
		dec:          codec.NewHeaderDecoder(codec.DefaultHeaderTableSize, 1<<24),
		streamSent:   map[uint32]int64{},
		headersOn:    map[uint32]bool{},
		ended:        map[uint32]bool{},
		promised:     map[uint32]bool{},
		goAwayLast:   codec.MaxStreamID,
	}
	h.fail = t.Fatalf
	h.cfg.Normalize()
	h.c = NewConn(&h.cfg, h, nil, h.now)
	h.staticBody = bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	return h
}

// Callbacks.

func (h *fuzzHarness) AcquireRequest() *Request {
	h.acquired++
	r := new(Request)
	h.live[r] = true
	return r
}

func (h *fuzzHarness) Dispatch(r *Request) {
	if !h.live[r] {
		h.fail("Dispatch of a released request")
	}
	for _, x := range h.handlers {
		if x.r == r {
			h.fail("request of stream %d dispatched twice", r.StreamID)
		}
	}
	x := &fuzzHandler{r: r, kind: h.rng.IntN(numHandlerKinds)}
	switch x.kind {
	case hSlow:
		x.steps = 1 + h.rng.IntN(5)
	case hStream:
		x.steps = 1 + h.rng.IntN(6)
	case hEcho:
		r.ManualAck = h.rng.IntN(2) == 0
	}
	if h.stepping {
		h.started = append(h.started, x) // a push from a running handler
		return
	}
	h.handlers = append(h.handlers, x)
}

func (h *fuzzHarness) Wake(r *Request) {
	if !h.live[r] {
		h.fail("Wake of a released request")
	}
}

func (h *fuzzHarness) ReleaseRequest(r *Request) {
	if !h.live[r] {
		h.fail("request released twice")
	}
	if !r.HandlerDone() || !r.StreamDone() {
		h.fail("request of stream %d released with handler done %v, stream done %v", r.StreamID, r.HandlerDone(), r.StreamDone())
	}
	delete(h.live, r)
	h.released++
	r.Reset()
}

// run drives the connection with data, then aborts it and checks for leaks.
func (h *fuzzHarness) run(data []byte) {
	in := []byte(codec.ClientPreface)
	in = codec.AppendSettings(in)
	in = codec.AppendSettingsAck(in)
	h.prefaceLeft = len(codec.ClientPreface)
	in = append(in, data...)

	var buf []byte
	closed := false
	for steps := 0; (len(in) > 0 || len(h.handlers) > 0) && steps < 10000; steps++ {
		if len(in) > 0 && !closed {
			n := 1 + h.rng.IntN(len(in))
			if h.rng.IntN(4) == 0 {
				n = min(len(in), 1+h.rng.IntN(16)) // dribble
			}
			buf = append(buf, in[:n]...)
			in = in[n:]
			h.inSince += n
			used, err := h.c.Feed(buf)
			if used < 0 || used > len(buf) {
				h.fail("Feed consumed %d of %d", used, len(buf))
			}
			h.accountInput(buf[:used])
			buf = buf[used:]
			if err != nil || h.c.Closed() {
				closed = true
			} else if len(buf) > 0 && len(buf) >= h.c.Need(buf) {
				h.fail("Feed left %d bytes although the next frame needs %d", len(buf), h.c.Need(buf))
			}
		} else if len(in) > 0 {
			in = nil // the transport stops reading after the close
		}
		h.checkStreams()
		h.runHandlers()
		h.checkStreams()
		switch h.rng.IntN(16) {
		case 0:
			h.now = h.now.Add(time.Duration(h.rng.IntN(30)) * time.Second)
			if h.c.Tick(h.now) != nil {
				closed = true
			}
		case 1, 2:
			h.now = h.now.Add(time.Second)
			if h.c.Tick(h.now) != nil {
				closed = true
			}
		case 3:
			if h.rng.IntN(8) == 0 {
				h.c.Shutdown()
			}
		}
		if h.c.Closed() {
			closed = true
		}
		if h.rng.IntN(5) != 0 || closed || len(in) == 0 {
			h.drain()
		} else {
			h.checkBound() // the client is not reading this time
		}
	}
	h.drain()
	h.c.Abort()
	for _, x := range h.handlers {
		h.c.Respond(x.r) // the handler returns
	}
	h.handlers = nil
	h.drain()
	if h.acquired != h.released || len(h.live) != 0 {
		h.fail("acquired %d requests, released %d", h.acquired, h.released)
	}
	if n := h.c.m.Panics.Load(); n != 0 {
		h.fail("%d illegal request lifecycle events", n)
	}
	if h.c.ActiveStreams() != 0 {
		h.fail("%d streams active after Abort", h.c.ActiveStreams())
	}
}

func (h *fuzzHarness) checkStreams() {
	if n := h.c.ActiveStreams(); n > int(h.cfg.MaxConcurrentStreams) {
		h.fail("%d streams active, limit %d", n, h.cfg.MaxConcurrentStreams)
	}
}

// runHandlers gives each running handler one step.
func (h *fuzzHarness) runHandlers() {
	h.stepping = true
	keep := h.handlers[:0]
	for _, x := range h.handlers {
		if !h.step(x) {
			keep = append(keep, x)
		}
	}
	clear(h.handlers[len(keep):])
	h.handlers = append(keep, h.started...)
	h.started = h.started[:0]
	h.stepping = false
}

// step runs one step of a handler and reports whether it returned.
func (h *fuzzHarness) step(x *fuzzHandler) bool {
	r, c := x.r, h.c
	h.respSince++
	switch x.kind {
	case hSmall:
		if !r.Pushed && h.rng.IntN(3) == 0 {
			err := c.Push(r, "GET", "", "/pushed", []string{"x-push", "1"})
			if err == nil && (h.pushOff || !h.cfg.EnablePush) {
				h.fail("push accepted with push disabled (server %v, client off %v)", h.cfg.EnablePush, h.pushOff)
			}
		}
		statuses := []int{200, 204, 404, 500}
		r.Status = statuses[h.rng.IntN(len(statuses))]
		r.AddHeader("content-type", "text/plain")
		if r.Status != 204 {
			r.RespBody = append(r.RespBody, "hello, world!\n"...)
		}
		c.Respond(r)
		return true
	case hBig:
		if h.rng.IntN(2) == 0 {
			r.SetStaticBody(h.staticBody[:1+h.rng.IntN(len(h.staticBody))])
		} else {
			r.RespBody = append(r.RespBody, h.staticBody[:h.rng.IntN(300<<10)%len(h.staticBody)]...)
		}
		if h.rng.IntN(3) == 0 {
			r.AddTrailer("x-checksum", "42")
		}
		c.Respond(r)
		return true
	case hStream:
		if r.Pending() > 0 && !r.StreamDone() {
			return false // blocked in Flush until the body drains
		}
		c.CompactBody(r)
		if x.steps == 0 || r.StreamDone() {
			if h.rng.IntN(2) == 0 {
				r.AddTrailer("grpc-status", "0")
			}
			c.Respond(r)
			return true
		}
		x.steps--
		r.RespBody = append(r.RespBody, h.staticBody[:h.rng.IntN(40000)]...)
		if !c.Flush(r) {
			c.Respond(r)
			return true
		}
		return false
	case hEcho:
		var p [4096]byte
		for i := 0; i < 8; i++ {
			n, eof := c.ReadBody(r, p[:h.rng.IntN(len(p))+1])
			if n > 0 {
				if x.echoed < 200000 {
					r.RespBody = append(r.RespBody, p[:n]...)
					x.echoed += n
				}
				if r.ManualAck {
					c.AckBody(r, h.rng.IntN(n+1))
					c.AckBody(r, n)
				}
			}
			if eof || (n == 0 && (r.Canceled || r.StreamDone())) {
				c.Respond(r)
				return true
			}
			if n == 0 {
				return false // waits for Wake
			}
		}
		return false
	case hCancel:
		c.Cancel(r, codec.ErrCodeCancel)
		c.Respond(r)
		return true
	case hSlow:
		if x.steps--; x.steps > 0 && !r.Canceled {
			return false
		}
		r.RespBody = append(r.RespBody, "slow"...)
		c.Respond(r)
		return true
	}
	panic("handler kind")
}

// drain plays a transport that writes everything: the output, then queued
// DATA chunk by chunk, checking each chunk.
func (h *fuzzHarness) drain() {
	for i := 0; i < 1000; i++ {
		h.checkBound()
		var out []byte
		if h.rng.IntN(2) == 0 {
			out = h.c.Output()
			h.checkFrames(out)
			h.c.ConsumeOutput(len(out))
		} else {
			// As a transport with gathered writes: a few segments at a
			// time, each write cut anywhere.
			segs := make([][]byte, 0, 1+h.rng.IntN(8))
			for h.c.OutputLen() > 0 {
				segs = h.c.OutputSegments(segs[:0])
				n, limit := 0, 1+h.rng.IntN(40<<10)
				for _, s := range segs {
					take := min(len(s), limit-n)
					out = append(out, s[:take]...)
					if n += take; n == limit {
						break
					}
				}
				h.c.ConsumeOutput(n)
			}
			h.c.ConsumeOutput(0)
			h.checkFrames(out)
		}
		h.inSince, h.respSince = 0, 0
		if !h.c.HasPendingData() {
			return
		}
		h.c.WritePending()
		if h.c.OutputLen() == 0 {
			return
		}
	}
	h.fail("WritePending keeps producing output")
}

// checkBound: the output grows with the input and the responses, and DATA
// only up to WriteChunk (plus a frame) before the transport writes it;
// with payloads of static bodies held by reference, up to refChunks times
// WriteChunk, of which the buffer holds only what is not referenced.
func (h *fuzzHarness) checkBound() {
	bound := 16<<10 + h.cfg.WriteChunk + 2*int(h.maxFrame) + 6*h.inSince + 4<<10*h.respSince
	if n := h.c.OutputLen() - h.c.OutputReferenced(); n > bound {
		h.fail("%d bytes of output in the buffer (bound %d: %d input bytes, %d responses)", n, bound, h.inSince, h.respSince)
	}
	if n, total := h.c.OutputLen(), bound+(refChunks-1)*h.cfg.WriteChunk; n > total {
		h.fail("%d bytes of output (bound %d: %d input bytes, %d responses)", n, total, h.inSince, h.respSince)
	}
}

// accountInput records the client frames the Conn consumed: the window
// credit they grant, the settings they change.
func (h *fuzzHarness) accountInput(b []byte) {
	if h.prefaceLeft > 0 {
		n := min(h.prefaceLeft, len(b))
		h.prefaceLeft -= n
		b = b[n:]
	}
	for len(b) >= codec.FrameHeaderLen {
		fh := codec.ParseFrameHeader(b)
		end := codec.FrameHeaderLen + int(fh.Length)
		if end > len(b) {
			h.fail("Feed consumed part of a frame")
		}
		p := b[codec.FrameHeaderLen:end]
		b = b[end:]
		switch fh.Type {
		case codec.FrameWindowUpdate:
			if incr, err := codec.ParseWindowUpdate(fh, p); err == nil {
				if fh.StreamID == 0 {
					h.connCredit += int64(incr)
				} else {
					h.streamCredit[fh.StreamID] += int64(incr)
				}
			}
		case codec.FrameSettings:
			sf, err := codec.ParseSettings(fh, p)
			if err != nil || sf.Ack {
				continue
			}
			var sizes []uint32
			for i := 0; i < sf.Len(); i++ {
				s := sf.At(i)
				switch s.ID {
				case codec.SettingInitialWindowSize:
					h.maxInitial = max(h.maxInitial, int64(s.Value))
				case codec.SettingMaxFrameSize:
					h.maxFrame = max(h.maxFrame, s.Value)
				case codec.SettingHeaderTableSize:
					sizes = append(sizes, s.Value)
				case codec.SettingEnablePush:
					if s.Value == 0 {
						h.pushOff = true
					}
				}
			}
			h.tableSizes = append(h.tableSizes, sizes)
		}
	}
	if len(b) != 0 {
		h.fail("Feed consumed part of a frame header")
	}
}

// checkFrames checks a chunk of output as the client would read it.
func (h *fuzzHarness) checkFrames(out []byte) {
	t := struct{ Fatalf func(string, ...any) }{h.fail}
	for len(out) > 0 {
		if len(out) < codec.FrameHeaderLen {
			t.Fatalf("partial frame header in the output")
		}
		fh := codec.ParseFrameHeader(out)
		end := codec.FrameHeaderLen + int(fh.Length)
		if end > len(out) {
			t.Fatalf("partial %v frame in the output", fh.Type)
		}
		p := out[codec.FrameHeaderLen:end]
		out = out[end:]
		if h.goAwayErr {
			t.Fatalf("%v after GOAWAY with an error", fh.Type)
		}
		if h.contID != 0 && (fh.Type != codec.FrameContinuation || fh.StreamID != h.contID) {
			t.Fatalf("%v on stream %d inside the header block of stream %d", fh.Type, fh.StreamID, h.contID)
		}
		if fh.Length > h.maxFrame {
			t.Fatalf("%v frame of %d bytes, peer allows %d", fh.Type, fh.Length, h.maxFrame)
		}
		id := fh.StreamID
		onStream := func() {
			if id == 0 || id%2 == 0 && !h.promised[id] {
				t.Fatalf("%v on stream %d", fh.Type, id)
			}
			if h.ended[id] {
				t.Fatalf("%v on stream %d after it ended", fh.Type, id)
			}
			if id%2 == 1 && id > h.goAwayLast && !h.headersOn[id] {
				t.Fatalf("%v on stream %d above the GOAWAY's last stream %d", fh.Type, id, h.goAwayLast)
			}
		}
		var err error
		switch fh.Type {
		case codec.FrameData:
			onStream()
			var df codec.DataFrame
			if df, err = codec.ParseData(fh, p); err == nil {
				if !h.headersOn[id] {
					t.Fatalf("DATA on stream %d before its HEADERS", id)
				}
				h.sentData += int64(df.FlowLen)
				h.streamSent[id] += int64(df.FlowLen)
				if h.sentData > h.connCredit {
					t.Fatalf("%d DATA bytes sent, the connection window allows %d", h.sentData, h.connCredit)
				}
				if got, allowed := h.streamSent[id], h.maxInitial+h.streamCredit[id]; got > allowed {
					t.Fatalf("stream %d: %d DATA bytes sent, its window allows at most %d", id, got, allowed)
				}
				if df.EndStream {
					h.ended[id] = true
				}
			}
		case codec.FrameHeaders:
			onStream()
			var hf codec.HeadersFrame
			if hf, err = codec.ParseHeaders(fh, p); err == nil {
				kind := codec.BlockResponse
				if h.headersOn[id] {
					kind = codec.BlockTrailers
					if !hf.EndStream {
						t.Fatalf("trailers without END_STREAM on stream %d", id)
					}
				}
				h.headersOn[id] = true
				h.dec.Begin(id, kind, &h.blk)
				h.contKind = kind
				if werr := h.dec.Write(hf.Fragment); werr != nil {
					t.Fatalf("stream %d: response block does not decode: %v", id, werr)
				}
				if hf.EndStream {
					h.ended[id] = true
				}
				if hf.EndHeaders {
					h.endBlock(id)
				} else {
					h.contID = id
				}
			}
		case codec.FramePushPromise:
			onStream()
			var pp codec.PushPromiseFrame
			if pp, err = codec.ParsePushPromise(fh, p); err == nil {
				if id%2 == 0 {
					t.Fatalf("PUSH_PROMISE on pushed stream %d", id)
				}
				pid := pp.PromisedStreamID
				if pid%2 != 0 || pid <= h.lastPromise {
					t.Fatalf("PUSH_PROMISE promises stream %d after %d", pid, h.lastPromise)
				}
				h.lastPromise = pid
				h.promised[pid] = true
				h.dec.Begin(id, codec.BlockRequest, &h.blk)
				h.contKind = codec.BlockRequest
				if werr := h.dec.Write(pp.Fragment); werr != nil {
					t.Fatalf("stream %d: promised request block does not decode: %v", id, werr)
				}
				if pp.EndHeaders {
					h.endBlock(id)
				} else {
					h.contID = id
				}
			}
		case codec.FrameContinuation:
			if h.contID == 0 {
				t.Fatalf("CONTINUATION without a header block")
			}
			var frag []byte
			if frag, err = codec.ParseContinuation(fh, p); err == nil {
				if werr := h.dec.Write(frag); werr != nil {
					t.Fatalf("stream %d: response block does not decode: %v", id, werr)
				}
				if fh.Flags.Has(codec.FlagEndHeaders) {
					h.contID = 0
					h.endBlock(id)
				}
			}
		case codec.FrameRSTStream:
			// Any stream: a malformed or self-dependent PRIORITY frame is a
			// stream error even on a stream nobody opened (§5.3.1, §6.3).
			if id == 0 {
				t.Fatalf("RST_STREAM on stream 0")
			}
			_, err = codec.ParseRSTStream(fh, p)
			h.ended[id] = true
		case codec.FrameSettings:
			var sf codec.SettingsFrame
			if sf, err = codec.ParseSettings(fh, p); err == nil && sf.Ack {
				if len(h.tableSizes) == 0 {
					t.Fatalf("SETTINGS ACK for no SETTINGS")
				}
				for _, v := range h.tableSizes[0] {
					h.dec.SetMaxDynamicTableSize(v)
				}
				h.tableSizes = h.tableSizes[1:]
			}
		case codec.FramePing:
			_, err = codec.ParsePing(fh, p)
		case codec.FrameWindowUpdate:
			_, err = codec.ParseWindowUpdate(fh, p)
		case codec.FrameGoAway:
			var ga codec.GoAwayFrame
			if ga, err = codec.ParseGoAway(fh, p); err == nil {
				if ga.LastStreamID > h.goAwayLast {
					t.Fatalf("GOAWAY last stream %d after %d", ga.LastStreamID, h.goAwayLast)
				}
				h.goAwayLast = ga.LastStreamID
				h.goAwayErr = ga.Code != codec.ErrCodeNo
				h.goAways++
			}
		default:
			t.Fatalf("server sent a %v frame", fh.Type)
		}
		if err != nil {
			t.Fatalf("server sent a malformed %v frame: %v", fh.Type, err)
		}
	}
}

func (h *fuzzHarness) endBlock(id uint32) {
	if err := h.dec.End(); err != nil {
		h.fail("stream %d: invalid response %v block: %v", id, h.contKind, err)
	}
	if h.contKind == codec.BlockResponse && (h.blk.Status < 200 || h.blk.Status > 599) {
		h.fail("stream %d: status %d", id, h.blk.Status)
	}
	if h.contKind == codec.BlockRequest && (h.blk.Method != "GET" && h.blk.Method != "HEAD" || h.blk.Authority == "") {
		h.fail("stream %d: promised request %s %s %s", id, h.blk.Method, h.blk.Authority, h.blk.Path)
	}
}

// TestFuzzEngineSeeds runs the seeds with many handler schedules, so that a
// plain go test covers more than one schedule per seed.
func TestFuzzEngineSeeds(t *testing.T) {
	seeds := fuzzSeeds()
	n := 200
	if testing.Short() {
		n = 20
	}
	for i, s := range seeds {
		for sched := 0; sched < n; sched++ {
			seed := uint64(i)<<32 | uint64(sched)
			t.Run(fmt.Sprintf("seed%d/%d", i, sched), func(t *testing.T) {
				newFuzzHarness(t, seed).run(s)
			})
		}
	}
}

// TestFuzzHarnessCatches proves the output checks can fail: a DATA frame
// beyond the connection window and a header block that does not decode.
func TestFuzzHarnessCatches(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  []byte
		want string
	}{
		{"DATA beyond the window", func() []byte {
			b := codec.AppendHeaders(nil, 1, false, true, []byte{0x88}) // :status 200
			for i := 0; i < 4; i++ {
				b = codec.AppendData(b, 1, false, make([]byte, 16384))
			}
			return b
		}(), "the connection window allows 65535"},
		{"bad HPACK", codec.AppendHeaders(nil, 1, true, true, []byte{0xff, 0xff}), "COMPRESSION_ERROR"},
		{"response without :status", codec.AppendHeaders(nil, 1, true, true, []byte{0x82}), "invalid response"},
		{"DATA after END_STREAM", codec.AppendData(codec.AppendHeaders(nil, 1, true, true, []byte{0x88}), 1, true, nil), "after it ended"},
		{"interleaved header block", codec.AppendPing(codec.AppendHeaders(nil, 1, true, false, []byte{0x88}), true, [8]byte{}), "inside the header block"},
		{"frame after error GOAWAY", append(codec.AppendGoAway(nil, 0, codec.ErrCodeProtocol, nil), codec.AppendPing(nil, true, [8]byte{})...), "after GOAWAY"},
		{"PUSH_PROMISE of an odd stream", codec.AppendPushPromise(nil, 1, 3, true, []byte{0x82}), "promises stream 3"},
		{"promise without :method", codec.AppendPushPromise(nil, 1, 2, true, nil), "without :method"},
		{"DATA on a stream never promised", codec.AppendData(nil, 2, true, []byte("x")), "DATA on stream 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newFuzzHarness(t, 1)
			h.fail = func(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
			msg := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				h.checkFrames(tc.out)
				return ""
			}()
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("checkFrames said %q, want %q", msg, tc.want)
			}
		})
	}
}
