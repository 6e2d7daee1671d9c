package h2loop

import (
	"strconv"
	"testing"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
)

// calibrateCalls is more returns of one size class than a bytebufferpool
// Pool counts before it calibrates (42,000).
const calibrateCalls = 43000

// requestWithBody feeds the WINDOW_UPDATE returning the previous
// response's credit and a GET on stream id whose body follows in DATA
// frames of up to 16,384 bytes.
func (mc *memClient) requestWithBody(tb testing.TB, feed func([]byte) bool, id uint32, body []byte, respLen int) {
	mc.frames = codec.AppendWindowUpdate(mc.frames[:0], 0, uint32(respLen))
	mc.frames = codec.AppendHeaders(mc.frames, id, false, true, mc.get)
	for rest := body; ; {
		n := min(len(rest), codec.DefaultMaxFrameSize)
		mc.frames = codec.AppendData(mc.frames, id, n == len(rest), rest[:n])
		if rest = rest[n:]; len(rest) == 0 {
			break
		}
	}
	before := mc.out
	if !feed(mc.frames) || mc.out == before {
		tb.Fatalf("request %d: no response", id)
	}
}

// TestServePathAllocsWrite: a response written with ctx.WriteString takes
// its buffer from the response pool and gives it back at release:
// nothing is allocated per request.
func TestServePathAllocsWrite(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	mc, feed := newMemServer(t, HandlerFunc(func(ctx *RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello, world!\n")
	}))
	mc.wantNoAllocs(t, feed)
}

// TestServePathAllocsBody: a request body read whole with ctx.Body and
// echoed with ctx.Write allocates nothing per request, small (in the
// request's own buffers) or large (20 KiB, in buffers of the receive and
// response pools).
func TestServePathAllocsBody(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	for _, n := range []int{1000, 20 << 10} {
		t.Run(strconv.Itoa(n), func(t *testing.T) { wantNoAllocsEcho(t, n) })
	}
}

func wantNoAllocsEcho(t *testing.T, size int) {
	body := make([]byte, size)
	for i := range body {
		body[i] = byte('a' + i%26)
	}
	mc, feed := newMemServer(t, HandlerFunc(func(ctx *RequestCtx) {
		b, err := ctx.Body()
		if err != nil || len(b) != len(body) && ctx.StreamID() != 1 { // stream 1: the handshake's GET
			t.Errorf("stream %d: Body: %d bytes, %v (streaming %v complete %v)", ctx.StreamID(), len(b), err, ctx.req.Streaming(), ctx.req.BodyComplete())
		}
		ctx.Write(b)
	}))
	id := uint32(3)
	warm := 100
	if size > engine.SmallBody {
		// Enough for the pools (shared by every test of the process) to
		// calibrate on this size: a pool that learnt smaller sizes from
		// other tests drops larger buffers until it does.
		warm = calibrateCalls
	}
	for i := 0; i < warm; i++ {
		mc.requestWithBody(t, feed, id, body, len(body))
		id += 2
	}
	allocs := testing.AllocsPerRun(2000, func() {
		mc.requestWithBody(t, feed, id, body, len(body))
		id += 2
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

// BenchmarkServePathWrite is BenchmarkServePath with the body written by
// ctx.WriteString (the response pool's buffer) instead of SetBodyStatic.
func BenchmarkServePathWrite(b *testing.B) {
	mc, feed := newMemServer(b, HandlerFunc(func(ctx *RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello, world!\n")
	}))
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		mc.request(b, feed, id)
		id += 2
	}
}

// BenchmarkServePathBody: a 1,000-byte request body read with ctx.Body and
// echoed with ctx.Write (the receive and response pools' buffers).
func BenchmarkServePathBody(b *testing.B) {
	body := make([]byte, 1000)
	mc, feed := newMemServer(b, HandlerFunc(func(ctx *RequestCtx) {
		p, _ := ctx.Body()
		ctx.Write(p)
	}))
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		mc.requestWithBody(b, feed, id, body, len(body))
		id += 2
	}
}
