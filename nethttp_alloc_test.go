package h2loop

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// BenchmarkWrapHandlerServePath is BenchmarkServePath with a net/http
// handler behind WrapHandler: the adapter's cost per request, for
// comparison with the native path's 0 allocations and net/http's own h2c
// server (about 36 per request, DESIGN.md). 8 allocations: the per-request
// state with its context and body (one), the *http.Request, the request
// header map (two) and one array for all its values, the response header
// map, and the handler's own Header().Set (two).
func BenchmarkWrapHandlerServePath(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello, world!\n")
	})
	mc, feed := newMemServer(b, WrapHandler(h))
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		mc.request(b, feed, id)
		id += 2
	}
}

// parseRequestURI must give what url.ParseRequestURI gives, for the targets
// it handles itself and for the ones it hands over.
func TestParseRequestURIMatchesNetURL(t *testing.T) {
	targets := []string{
		"/", "/a/b", "/a/b?x=1&y=2", "/a?", "/a??", "/a?b?c", "//double", "/~user/a.b-c_d",
		"/$&+,:;=@", "/a%20b", "/a%2Fb", "/a b", "/a!b", "/a(b)", "/a*b", "/a'b", "/ä", "/a#frag",
		"/a?q=ä", "/a?q=\x01", "/a\x7f", "*", "", "a/b", "http://example.com/x", "/a?x=%zz", "/%zz",
		"/a?#", "/a;b=c", "/a?b c",
	}
	// and random ones over an alphabet with the interesting bytes
	alphabet := "/?%#ab;:@&=+$,~-_.!*'() \x01\x7fä"
	rnd := uint64(1)
	for i := 0; i < 5000; i++ {
		n := int(rnd % 12)
		b := []byte{'/'}
		for j := 0; j < n; j++ {
			rnd = rnd*6364136223846793005 + 1442695040888963407
			b = append(b, alphabet[(rnd>>33)%uint64(len(alphabet))])
		}
		rnd = rnd*6364136223846793005 + 1442695040888963407
		targets = append(targets, string(b))
	}
	for _, target := range targets {
		var u url.URL
		got, gotErr := parseRequestURI(&u, target)
		want, wantErr := url.ParseRequestURI(target)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: error %v, net/url %v", target, gotErr, wantErr)
		}
		if gotErr == nil && *got != *want {
			t.Fatalf("%q: %#v, net/url %#v", target, *got, *want)
		}
	}
}

// grpcShaped answers as grpc-go's handler transport (grpc.Server's
// ServeHTTP) answers a unary call: it derives a context from the
// request's, declares its trailers, writes the 5-byte message header and
// the message, flushes, flushes again before the status, and sets the
// status trailers.
var grpcShaped = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_ = r.Context().Done() // its watcher goroutine waits on it
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	_ = ctx.Done()
	h := w.Header()
	h["Date"] = nil
	h.Set("Content-Type", "application/grpc")
	h.Add("Trailer", "Grpc-Status")
	h.Add("Trailer", "Grpc-Message")
	h.Add("Trailer", "Grpc-Status-Details-Bin")
	w.Write(grpcMsgHeader)
	w.Write(grpcMsg)
	w.(http.Flusher).Flush()
	w.(http.Flusher).Flush()
	h.Set("Grpc-Status", "0")
})

var (
	grpcMsgHeader = []byte{0, 0, 0, 0, 18}
	grpcMsg       = []byte("\x12\x10xxxxxxxxxxxxxxxx")
)

// grpcRequestFields are the fields grpc-go's client sends with a call.
var grpcRequestFields = []hpack.HeaderField{{Name: "content-type", Value: "application/grpc"},
	{Name: "te", Value: "trailers"}, {Name: "grpc-accept-encoding", Value: "gzip"}, {Name: "grpc-timeout", Value: "99m"}}

// grpcCall feeds the WINDOW_UPDATE returning the previous gRPC-shaped
// response's credit and one call on stream id.
func grpcCall(tb testing.TB, mc *memClient, feed func([]byte) bool, id uint32) {
	mc.frames = codec.AppendWindowUpdate(mc.frames[:0], 0, uint32(len(grpcMsgHeader)+len(grpcMsg)))
	mc.frames = codec.AppendHeaders(mc.frames, id, true, true, mc.get)
	before := mc.out
	if !feed(mc.frames) || mc.out == before {
		tb.Fatalf("call %d: no response", id)
	}
}

// BenchmarkWrapHandlerGRPCShape is BenchmarkWrapHandlerServePath with the
// request fields and response pattern of a gRPC unary call (grpcShaped):
// what the adapter adds to grpc-go's own allocations per call.
func BenchmarkWrapHandlerGRPCShape(b *testing.B) {
	mc, feed := newMemServer(b, WrapHandler(grpcShaped), grpcRequestFields...)
	id := uint32(3)
	b.ReportAllocs()
	for b.Loop() {
		grpcCall(b, mc, feed, id)
		id += 2
	}
}

// TestWrapHandlerGRPCShapeAllocs bounds the allocations of a gRPC-shaped
// call through the adapter: 20 in all (28 before the trailer declarations,
// their list and the request's gRPC field names stopped allocating). About
// half are the handler's own (its derived context, that context's channel
// and its registration with the parent, the header slices it sets); the
// adapter's: the per-request state, the *http.Request, the request header
// map and one array for its values, the response header map, and the
// request context's Done (a context and its channel).
func TestWrapHandlerGRPCShapeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	mc, feed := newMemServer(t, WrapHandler(grpcShaped), grpcRequestFields...)
	id := uint32(3)
	for range 100 {
		grpcCall(t, mc, feed, id)
		id += 2
	}
	allocs := testing.AllocsPerRun(1000, func() {
		grpcCall(t, mc, feed, id)
		id += 2
	})
	if allocs > 20 {
		t.Fatalf("%v allocations per gRPC-shaped call, want at most 20", allocs)
	}
}
