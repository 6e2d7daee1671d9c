package h2loop

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// requestWithBody feeds the WINDOW_UPDATE returning the previous
// response's credit and a GET on stream id whose body follows in one DATA
// frame.
func (mc *memClient) requestWithBody(tb testing.TB, feed func([]byte) bool, id uint32, body []byte, respLen int) {
	mc.frames = codec.AppendWindowUpdate(mc.frames[:0], 0, uint32(respLen))
	mc.frames = codec.AppendHeaders(mc.frames, id, false, true, mc.get)
	mc.frames = codec.AppendData(mc.frames, id, true, body)
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

// TestServePathAllocsBody: a request body (received into the receive
// pool's buffer, read whole with ctx.Body) echoed with ctx.Write (the
// response pool's buffer) allocates nothing per request.
func TestServePathAllocsBody(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	body := make([]byte, 1000)
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
	for i := 0; i < 100; i++ {
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
