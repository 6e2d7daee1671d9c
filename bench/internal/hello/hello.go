// Package hello implements the endpoints of examples/hello twice, once as an
// h2loop handler and once as a net/http handler, with the same logic, so the
// benchmarks compare servers and not handlers:
//
//	GET  /            200 "hello, world!\n" (text/plain); HEAD and POST too
//	GET  /bytes/N     200 with exactly N bytes, byte i = 'a' + i%26, with content-length
//	POST /echo        200 echoing the request body as it streams in
//	GET  /delay/MS    200 after MS milliseconds
//	anything else     404
package hello

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop"
)

// Body is the body of GET /. It must not be modified.
var Body = []byte("hello, world!\n")

const maxBytes = 1 << 30

var (
	patMu sync.Mutex
	pat   atomic.Pointer[[]byte]
)

// Pattern returns an immutable buffer of n bytes with byte i = 'a'+i%26,
// shared by all callers: it must not be modified. n must be at most 1 GiB.
func Pattern(n int) []byte {
	if p := pat.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	patMu.Lock()
	defer patMu.Unlock()
	if p := pat.Load(); p != nil && len(*p) >= n {
		return (*p)[:n]
	}
	size := 1 << 16
	for size < n {
		size *= 2
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	pat.Store(&b)
	return b[:n]
}

// echoBufs holds the 32 KiB copy buffers of POST /echo, for both servers.
var echoBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// route is what a request asks for.
type route int

const (
	routeNotFound route = iota
	routeHello
	routeBytes
	routeEcho
	routeDelay
)

// match maps a method and a path (query already removed) to a route and
// the route's numeric argument; arg < 0 means the argument is invalid.
func match(method, path string) (route, int) {
	switch {
	case path == "/" && (method == "GET" || method == "HEAD" || method == "POST"):
		return routeHello, 0
	case strings.HasPrefix(path, "/bytes/") && (method == "GET" || method == "HEAD"):
		n, err := strconv.Atoi(path[len("/bytes/"):])
		if err != nil || n < 0 || n > maxBytes {
			return routeBytes, -1
		}
		return routeBytes, n
	case path == "/echo" && method == "POST":
		return routeEcho, 0
	case strings.HasPrefix(path, "/delay/") && method == "GET":
		ms, err := strconv.Atoi(path[len("/delay/"):])
		if err != nil || ms < 0 || ms > 600000 {
			return routeDelay, -1
		}
		return routeDelay, ms
	}
	return routeNotFound, 0
}

// H2loop serves the endpoints with h2loop.
func H2loop(ctx *h2loop.RequestCtx) {
	path := ctx.Path()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	r, arg := match(ctx.Method(), path)
	switch {
	case r == routeHello:
		ctx.SetContentType("text/plain")
		ctx.SetBodyStatic(Body)
	case r == routeBytes && arg >= 0:
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyStatic(Pattern(arg))
	case r == routeEcho:
		if ct := ctx.Header("content-type"); ct != "" {
			ctx.SetHeader("content-type", strings.Clone(ct))
		}
		bp := echoBufs.Get().(*[]byte)
		defer echoBufs.Put(bp)
		for {
			n, err := ctx.Read(*bp)
			if n > 0 {
				ctx.Write((*bp)[:n])
				if ctx.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case r == routeDelay && arg >= 0:
		t := time.NewTimer(time.Duration(arg) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("delayed " + strconv.Itoa(arg) + "ms\n")
	case r == routeBytes:
		ctx.SetStatus(400)
		ctx.SetBodyString("bad length\n")
	case r == routeDelay:
		ctx.SetStatus(400)
		ctx.SetBodyString("bad delay\n")
	default:
		ctx.SetStatus(404)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("not found\n")
	}
}

// NetHTTP serves the endpoints with net/http.
var NetHTTP http.Handler = http.HandlerFunc(serveHTTP)

func serveHTTP(w http.ResponseWriter, req *http.Request) {
	r, arg := match(req.Method, req.URL.Path)
	h := w.Header()
	switch {
	case r == routeHello:
		h.Set("Content-Type", "text/plain")
		w.Write(Body)
	case r == routeBytes && arg >= 0:
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(arg))
		w.Write(Pattern(arg))
	case r == routeEcho:
		if ct := req.Header.Get("Content-Type"); ct != "" {
			h.Set("Content-Type", ct)
		}
		bp := echoBufs.Get().(*[]byte)
		defer echoBufs.Put(bp)
		fl, _ := w.(http.Flusher)
		for {
			n, err := req.Body.Read(*bp)
			if n > 0 {
				if _, werr := w.Write((*bp)[:n]); werr != nil {
					return
				}
				if fl != nil {
					fl.Flush()
				}
			}
			if err != nil {
				return
			}
		}
	case r == routeDelay && arg >= 0:
		t := time.NewTimer(time.Duration(arg) * time.Millisecond)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
		h.Set("Content-Type", "text/plain")
		w.Write([]byte("delayed " + strconv.Itoa(arg) + "ms\n"))
	case r == routeBytes:
		w.WriteHeader(400)
		w.Write([]byte("bad length\n"))
	case r == routeDelay:
		w.WriteHeader(400)
		w.Write([]byte("bad delay\n"))
	default:
		h.Set("Content-Type", "text/plain")
		w.WriteHeader(404)
		w.Write([]byte("not found\n"))
	}
}
