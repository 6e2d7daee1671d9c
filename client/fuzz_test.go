package client

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// FuzzH2Feed feeds arbitrary server bytes, split at arbitrary points, to a
// connection with streams open. It must not panic, must close every stream
// exactly once, and must account for every byte it consumes. The top bit of
// split enables push: then every accepted pushed stream must be closed
// exactly once too, and refused or closed ones never reported again.
func FuzzH2Feed(f *testing.F) {
	seed := codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 2},
		codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1 << 20})
	seed = response(seed, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	seed = codec.AppendPing(seed, false, [8]byte{1})
	seed = codec.AppendHeaders(seed, 3, false, false, []byte{0x88})
	seed = codec.AppendContinuation(seed, 3, true, []byte{0x40, 0x01, 'a', 0x01, 'b'})
	seed = codec.AppendDataPadded(seed, 3, false, []byte("xyz"), 3)
	seed = codec.AppendRSTStream(seed, 5, codec.ErrCodeRefusedStream)
	seed = codec.AppendWindowUpdate(seed, 0, 100)
	seed = codec.AppendGoAway(seed, 3, codec.ErrCodeNo, []byte("bye"))
	f.Add(seed, uint16(7))
	f.Add(seed, uint16(1))
	f.Add([]byte{0, 0, 0, 4, 1, 0, 0, 0, 0}, uint16(3))
	// pushes: a promise split by CONTINUATION (literal fields, indexed by
	// the next one), the pushed response, a refused and a limit-breaking one
	p := newPushPeer()
	blk := p.promise("/bytes/1000")
	push := codec.AppendPushPromise(nil, 1, 2, false, blk[:4])
	push = codec.AppendContinuation(push, 1, true, blk[4:])
	push = codec.AppendPushPromise(push, 3, 4, true, p.promise("/bytes/1000"))
	push = codec.AppendPushPromise(push, 3, 6, true, p.block(":method", "POST", ":scheme", "http", ":authority", "example.com", ":path", "/"))
	push = codec.AppendHeaders(push, 2, false, true, p.block(":status", "200"))
	push = codec.AppendDataPadded(push, 2, false, []byte("abc"), 2)
	push = codec.AppendHeaders(push, 2, true, true, p.block("x-t", "1"))
	push = codec.AppendRSTStream(push, 4, codec.ErrCodeCancel)
	push = codec.AppendPushPromise(push, 5, 8, true, p.promise("/x"))
	push = codec.AppendPushPromise(push, 5, 10, true, p.promise("/y"))
	push = codec.AppendPushPromise(push, 5, 12, true, p.promise("/z"))
	push = codec.AppendGoAway(push, 1, codec.ErrCodeNo, nil)
	push = response(push, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	f.Add(push, uint16(0x8000|5))
	f.Add(push, uint16(0x8000|1))
	f.Add(push, uint16(5)) // push disabled: ErrPushPromise
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		h := &countHandler{closed: map[int32]int{}, pushes: map[uint32]int{}}
		cfg := DefaultH2Config()
		cfg.MaxConcurrentStreams = 4
		cfg.EnablePush = split&0x8000 != 0
		split &^= 0x8000
		c := NewH2Conn(cfg, testSet([]byte("body")), h)
		c.Start()
		for i := int32(0); i < 3; i++ {
			c.Submit(0, i)
		}
		step := int(split)%(len(in)+1) + 1
		var buf []byte
		for off := 0; off < len(in); off += step {
			buf = append(buf, in[off:min(off+step, len(in))]...)
			n, err := c.Feed(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("consumed %d of %d", n, len(buf))
			}
			buf = buf[n:]
			if err != nil {
				c.Fail(ResultConnError)
				break
			}
		}
		c.Fail(ResultConnError)
		for tok := int32(0); tok < 3; tok++ {
			if h.closed[tok] != 1 {
				t.Fatalf("stream %d closed %d times", tok, h.closed[tok])
			}
		}
		for id, n := range h.pushes {
			if n != 2 { // promised once, closed once
				t.Fatalf("pushed stream %d: %d events", id, n)
			}
		}
		if c.Pushes() != 0 || (!cfg.EnablePush && c.PushesReceived+c.PushesRefused != 0) {
			t.Fatalf("%d pushes held, %d received, %d refused", c.Pushes(), c.PushesReceived, c.PushesRefused)
		}
	})
}

type countHandler struct {
	closed map[int32]int
	pushes map[uint32]int // accepted pushed stream: 1 when promised, +1 when closed
}

func (h *countHandler) Response(int32, int)                         {}
func (h *countHandler) Closed(tok int32, _ Result, _ codec.ErrCode) { h.closed[tok]++ }
func (h *countHandler) PushPromise(_ int32, id uint32, _, _, _, _ []byte) {
	if h.pushes[id] != 0 {
		h.pushes[id] = 100 // promised twice
	}
	h.pushes[id]++
}
func (h *countHandler) PushRefused(id uint32, _ *codec.StreamError) {
	if h.pushes[id] != 0 {
		h.pushes[id] = 100 // an accepted id refused
	}
}
func (h *countHandler) PushData(id uint32, _ []byte) {
	if h.pushes[id] != 1 {
		h.pushes[id] = 100 // content on a stream not open
	}
}
func (h *countHandler) PushResponse(id uint32, _ int) {
	if h.pushes[id] != 1 {
		h.pushes[id] = 100 // a response on a stream not open
	}
}
func (h *countHandler) PushClosed(id uint32, _ Result, _ codec.ErrCode) { h.pushes[id]++ }

// FuzzH1Feed feeds arbitrary bytes as HTTP/1.1 responses to pipelined
// requests: no panic, every request closed exactly once.
func FuzzH1Feed(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"), uint16(5))
	f.Add([]byte("HTTP/1.0 204 No Content\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 101 x\r\n\r\n"), uint16(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		h := &countHandler{closed: map[int32]int{}}
		c := NewH1Conn(3, testSet(nil), h)
		for i := int32(0); i < 3; i++ {
			c.Submit(0, i)
		}
		step := int(split)%(len(in)+1) + 1
		var buf []byte
		for off := 0; off < len(in); off += step {
			buf = append(buf, in[off:min(off+step, len(in))]...)
			n, err := c.Feed(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("consumed %d of %d", n, len(buf))
			}
			buf = buf[n:]
			if err != nil {
				break
			}
		}
		c.EOF()
		for tok := int32(0); tok < 3; tok++ {
			if h.closed[tok] != 1 {
				t.Fatalf("request %d closed %d times", tok, h.closed[tok])
			}
		}
	})
}
