package h2loop

import (
	"bytes"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// memClient drives a Server through loop.MemConn with recorded frames.
type memClient struct {
	out    int // bytes the server wrote
	get    []byte
	frames []byte
	fail   func(string)
}

func newMemServer(tb testing.TB, h Handler, extra ...hpack.HeaderField) (*memClient, func([]byte) bool) {
	return newMemServerWith(tb, &Server{Handler: h, InlineHandlers: true}, extra...)
}

func newMemServerWith(tb testing.TB, srv *Server, extra ...hpack.HeaderField) (*memClient, func([]byte) bool) {
	core, err := srv.init()
	if err != nil {
		tb.Fatal(err)
	}
	mc := &memClient{}
	conn := core.NewMemConn(func(b []byte) { mc.out += len(b) })
	feed := conn.Feed
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func() []byte {
		hb.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/"}, {Name: ":authority", Value: "example.com"}, {Name: "user-agent", Value: "bench"}} {
			enc.WriteField(f)
		}
		for _, f := range extra {
			enc.WriteField(f)
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	start := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
	start = codec.AppendSettingsAck(start)
	start = codec.AppendHeaders(start, 1, true, true, block())
	if !feed(start) {
		tb.Fatal("connection closed during the handshake")
	}
	mc.get = block() // fully indexed from now on
	return mc, feed
}

func helloNative(ctx *RequestCtx) {
	ctx.SetContentType("text/plain")
	ctx.SetBodyStatic(helloBody)
}

var helloBody = []byte("hello, world!\n")

// request feeds the WINDOW_UPDATE returning the previous response's credit
// and one GET on stream id.
func (mc *memClient) request(tb testing.TB, feed func([]byte) bool, id uint32) {
	mc.frames = codec.AppendWindowUpdate(mc.frames[:0], 0, uint32(len(helloBody)))
	mc.frames = codec.AppendHeaders(mc.frames, id, true, true, mc.get)
	before := mc.out
	if !feed(mc.frames) || mc.out == before {
		tb.Fatalf("request %d: no response", id)
	}
}

// wantNoAllocs serves 100 requests to warm up, then checks that 2,000 more
// allocate nothing.
func (mc *memClient) wantNoAllocs(t *testing.T, feed func([]byte) bool) {
	t.Helper()
	id := uint32(3)
	for i := 0; i < 100; i++ {
		mc.request(t, feed, id)
		id += 2
	}
	allocs := testing.AllocsPerRun(2000, func() {
		mc.request(t, feed, id)
		id += 2
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

// TestServePathAllocs: a GET with a fully indexed header block, through the
// engine, the request context, a native handler and back to response bytes,
// allocates nothing.
func TestServePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	mc, feed := newMemServer(t, HandlerFunc(helloNative))
	mc.wantNoAllocs(t, feed)
}

// TestServePathAllocsConnState: with ConnState set, the state changes
// of a request (active, idle) allocate nothing either.
func TestServePathAllocsConnState(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	var changes [5]int
	srv := &Server{Handler: HandlerFunc(helloNative), InlineHandlers: true,
		ConnState: func(_ net.Conn, s http.ConnState) { changes[s]++ }}
	mc, feed := newMemServerWith(t, srv)
	mc.wantNoAllocs(t, feed)
	if changes[http.StateNew] != 1 || changes[http.StateActive] < 2000 || changes[http.StateIdle] != changes[http.StateActive] {
		t.Fatalf("state changes %v", changes)
	}
}

// TestServePathAllocsAccessLog: with AccessLog set (to a hook that
// allocates nothing), serving still allocates nothing; unset, it is
// TestServePathAllocs.
func TestServePathAllocsAccessLog(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	var n, ok int
	var total time.Duration
	srv := &Server{Handler: HandlerFunc(helloNative), InlineHandlers: true,
		AccessLog: func(ctx *RequestCtx, status int, elapsed time.Duration) {
			n++
			if status == 200 && ctx.Method() == "GET" {
				ok++
			}
			total += elapsed
		}}
	mc, feed := newMemServerWith(t, srv)
	mc.wantNoAllocs(t, feed)
	if n < 2100 || ok != n {
		t.Fatalf("AccessLog called %d times, %d with 200 GET", n, ok)
	}
}

func BenchmarkServePath(b *testing.B) {
	mc, feed := newMemServer(b, HandlerFunc(helloNative))
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		mc.request(b, feed, id)
		id += 2
	}
}
