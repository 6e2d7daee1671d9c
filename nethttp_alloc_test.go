package h2loop

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkWrapHandlerServePath is BenchmarkServePath with a net/http
// handler behind WrapHandler: the adapter's cost per request (the
// *http.Request, header map, URL, ResponseWriter and context), for
// comparison with the native path's 0 allocations and net/http's own
// h2c server (about 36 per request, DESIGN.md).
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
