package h2loop

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// literalGet is a GET whose :path and :authority are literals without
// indexing (:path never indexed), the way nghttp2's clients (curl,
// h2load) send every :path: nothing enters the server's HPACK table.
func literalGet(path string) []byte {
	b := []byte{0x82, 0x86, 0x14} // GET, http, :path (static 4) never indexed
	hp := hpack.AppendHuffmanString(nil, path)
	b = append(b, 0x80|byte(len(hp)))
	b = append(b, hp...)
	b = append(b, 0x01, 11) // :authority (static 1) without indexing
	return append(b, "example.com"...)
}

// echoPath answers with the request's :path in x-path, a string of the
// request's own memory.
func echoPath(ctx *RequestCtx) {
	ctx.SetHeader("x-path", ctx.Path())
	helloNative(ctx)
}

// TestServePathAllocsLiteralPath: a request whose :path is a literal the
// client does not index, different on every request (an API's
// /items/<id>), is decoded into the request's own memory: serving it
// allocates nothing, answer included.
func TestServePathAllocsLiteralPath(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	mc, feed := newMemServer(t, HandlerFunc(echoPath))
	blocks := make([][]byte, 2200)
	for i := range blocks {
		blocks[i] = literalGet(fmt.Sprintf("/items/%d?view=full", 100000+i))
	}
	id, n := uint32(3), 0
	serve := func() {
		mc.frames = codec.AppendWindowUpdate(mc.frames[:0], 0, uint32(len(helloBody)))
		mc.frames = codec.AppendHeaders(mc.frames, id, true, true, blocks[n])
		before := mc.out
		if !feed(mc.frames) || mc.out == before {
			t.Fatalf("request %d: no response", id)
		}
		id += 2
		n++
	}
	for range 100 {
		serve()
	}
	if allocs := testing.AllocsPerRun(2000, serve); allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

// TestArenaStringsNeverIndexed: a handler that answers with a string of
// its request's own memory (x-path: the :path) on one connection, request
// after request, every path different. The response encoder must not keep
// that string in its dynamic table (the memory is the next request's): a
// client decoding the responses in order sees each response's own path.
// With WrapHandler, a net/http handler keeps what it got after it returned.
func TestArenaStringsNeverIndexed(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		t.Run(fmt.Sprintf("WrapHandler=%v", wrap), func(t *testing.T) {
			var kept []string
			var h Handler = HandlerFunc(echoPath)
			if wrap {
				h = WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					kept = append(kept, r.URL.Path+" "+r.Host, r.RequestURI)
					w.Header().Set("X-Path", r.RequestURI)
					w.Write(helloBody)
				}))
			}
			srv := &Server{Handler: h, InlineHandlers: true}
			core, err := srv.init()
			if err != nil {
				t.Fatal(err)
			}
			var out []byte
			conn := core.NewMemConn(func(b []byte) { out = append(out, b...) })
			start := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
			start = codec.AppendSettingsAck(start)
			if !conn.Feed(start) {
				t.Fatal("closed during the handshake")
			}
			dec := hpack.NewDecoder(4096, nil)
			const n = 300
			for i := 0; i < n; i++ {
				path := fmt.Sprintf("/p/%d/%s", i, strings.Repeat("x", i%40))
				frames := codec.AppendWindowUpdate(nil, 0, uint32(len(helloBody)))
				frames = codec.AppendHeaders(frames, uint32(1+2*i), true, true, literalGet(path))
				out = out[:0]
				if !conn.Feed(frames) {
					t.Fatalf("request %d: connection closed", i)
				}
				var got string
				for b := out; len(b) >= codec.FrameHeaderLen; {
					fh := codec.ParseFrameHeader(b)
					p := b[codec.FrameHeaderLen : codec.FrameHeaderLen+int(fh.Length)]
					b = b[codec.FrameHeaderLen+int(fh.Length):]
					if fh.Type != codec.FrameHeaders {
						continue
					}
					fields, err := dec.DecodeFull(p)
					if err != nil {
						t.Fatalf("response %d: %v", i, err)
					}
					for _, f := range fields {
						if f.Name == "x-path" {
							got = f.Value
						}
					}
				}
				if got != path {
					t.Fatalf("response %d: x-path %q, want %q", i, got, path)
				}
			}
			for i := 0; wrap && i < n; i++ {
				path := fmt.Sprintf("/p/%d/%s", i, strings.Repeat("x", i%40))
				if kept[2*i] != path+" example.com" || kept[2*i+1] != path {
					t.Fatalf("request %d kept %q %q, want %q", i, kept[2*i], kept[2*i+1], path)
				}
			}
		})
	}
}
