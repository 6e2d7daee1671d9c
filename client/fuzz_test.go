package client

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// FuzzH2Feed feeds arbitrary server bytes, split at arbitrary points, to a
// connection with streams open. It must not panic, must close every stream
// exactly once, and must account for every byte it consumes.
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
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		h := &countHandler{closed: map[int32]int{}}
		cfg := DefaultH2Config()
		cfg.MaxConcurrentStreams = 4
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
	})
}

type countHandler struct{ closed map[int32]int }

func (h *countHandler) Response(int32, int)                         {}
func (h *countHandler) Closed(tok int32, _ Result, _ codec.ErrCode) { h.closed[tok]++ }

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
