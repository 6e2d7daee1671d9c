// Command hello is the example h2loop server that the README, the tests, CI
// and outside tools drive. Its contract:
//
//	-addr host:port   listen address (default 127.0.0.1:8080), cleartext
//	                  HTTP/2 (prior knowledge or Upgrade) and HTTP/1.1;
//	                  once every listener is bound, stderr has the line
//	                  "hello: serving on ADDR" with the address bound
//	                  (port 0 picks a free port)
//	GET  /            200 "hello, world!\n" (text/plain)
//	GET  /bytes/N     200 with exactly N bytes, byte i = 'a' + i%26, with content-length
//	POST /echo        200 echoing the request body as it streams in
//	GET  /delay/MS    200 after MS milliseconds (other streams are not held up)
//	GET  /pid         200 with the server's process id in decimal and "\n"
//	GET  /hints       103 (Early Hints) with link: </bytes/1000>; rel=preload;
//	                  as=fetch; crossorigin, then 50 ms later 200 "hinted\n"
//	GET  /push        when the client allows push, pushes GET /bytes/1000
//	                  (PUSH_PROMISE), then 200 "pushed\n"; otherwise just the 200
//	anything else     404
//
// Extra flags: -tls-addr with -cert/-key also serves h2 over TLS (ALPN h2,
// http/1.1); -altsvc VALUE sends an ALTSVC frame (RFC 7838) with that
// Alt-Svc value for the connection's origin on every HTTP/2 connection;
// -origin LIST (comma-separated origins) sends an ORIGIN frame (RFC 8336)
// on every HTTP/2 connection over TLS; -inline runs handlers on the
// reading goroutine (not for /delay or /hints, which then block their
// connection); -debug addr serves net/http/pprof and expvar (/debug/vars:
// memstats with Mallocs, and the server's counters as "h2loop") and
// Prometheus metrics (/metrics: the h2prom collector's h2loop_* series) on
// a separate listener; -reuseport sets SO_REUSEPORT on the listeners
// (several hello processes on one port share its connections; each exits
// gracefully on SIGTERM or SIGINT while the others go on serving). The
// addresses bound for -tls-addr and -debug are logged before the serving
// line, as "hello: TLS on ADDR" and "hello: debug on ADDR".
package main

import (
	"context"
	"expvar"
	"flag"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/h2prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const maxBytes = 1 << 30

var (
	patMu sync.Mutex
	pat   atomic.Pointer[[]byte]
)

// pattern returns an immutable buffer of at least n bytes with byte i = 'a'+i%26.
func pattern(n int) []byte {
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

var hello = []byte("hello, world!\n")

var pidLine = []byte(strconv.Itoa(os.Getpid()) + "\n")

// hintLink is the preload /hints announces in its 103: browsers preload
// only links with a valid as attribute.
const hintLink = "</bytes/1000>; rel=preload; as=fetch; crossorigin"

var echoBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func handle(ctx *h2loop.RequestCtx) {
	path := ctx.Path()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	method := ctx.Method()
	switch {
	case path == "/" && (method == "GET" || method == "HEAD" || method == "POST"):
		// POST / is answered too: conformance suites post to /.
		ctx.SetContentType("text/plain")
		ctx.SetBodyStatic(hello)
	case strings.HasPrefix(path, "/bytes/") && (method == "GET" || method == "HEAD"):
		n, err := strconv.Atoi(path[len("/bytes/"):])
		if err != nil || n < 0 || n > maxBytes {
			ctx.SetStatus(400)
			ctx.SetBodyString("bad length\n")
			return
		}
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyStatic(pattern(n))
	case path == "/echo" && method == "POST":
		if ct := ctx.Header("content-type"); ct != "" {
			ctx.SetHeader("content-type", strings.Clone(ct))
		}
		bp := echoBufs.Get().(*[]byte)
		defer echoBufs.Put(bp)
		buf := *bp
		for {
			n, err := ctx.Read(buf)
			ctx.Write(buf[:n])
			if err != nil {
				return // io.EOF: the response ends with what was written
			}
			// More is coming: send what we have while the rest streams in.
			if ctx.Flush() != nil {
				return
			}
		}
	case strings.HasPrefix(path, "/delay/") && method == "GET":
		ms, err := strconv.Atoi(path[len("/delay/"):])
		if err != nil || ms < 0 || ms > 600000 {
			ctx.SetStatus(400)
			ctx.SetBodyString("bad delay\n")
			return
		}
		if !sleep(ctx, time.Duration(ms)*time.Millisecond) {
			return
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("delayed " + strconv.Itoa(ms) + "ms\n")
	case path == "/pid" && method == "GET":
		ctx.SetContentType("text/plain")
		ctx.SetBodyStatic(pidLine)
	case path == "/hints" && (method == "GET" || method == "HEAD"):
		if ctx.SendEarlyHints(hintLink) != nil {
			return
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("hinted\n")
	case path == "/push" && (method == "GET" || method == "HEAD"):
		if ctx.PushAllowed() {
			ctx.Push("GET", "/bytes/1000")
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("pushed\n")
	default:
		ctx.SetStatus(404)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("not found\n")
	}
}

// waits reports whether the handler of path waits (a timer): it runs on
// the worker pool, never inline.
func waits(path string) bool {
	return strings.HasPrefix(path, "/delay/") || strings.HasPrefix(path, "/hints")
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (cleartext h2c and HTTP/1.1)")
	tlsAddr := flag.String("tls-addr", "", "also serve TLS (h2 and http/1.1 by ALPN) on this address")
	cert := flag.String("cert", "", "TLS certificate file (with -tls-addr)")
	key := flag.String("key", "", "TLS key file (with -tls-addr)")
	inline := flag.Bool("inline", false, "run every handler on the reading goroutine (/delay and /hints then block their connection)")
	verbose := flag.Bool("v", false, "log protocol errors")
	debugAddr := flag.String("debug", "", "serve net/http/pprof and expvar on this address")
	reuse := flag.Bool("reuseport", false, "set SO_REUSEPORT: several processes may serve one port")
	altSvc := flag.String("altsvc", "", "send an ALTSVC frame with this Alt-Svc value for the connection's origin on every HTTP/2 connection")
	origin := flag.String("origin", "", "send an ORIGIN frame with these comma-separated origins on every HTTP/2 connection over TLS")
	flag.Parse()

	srv := &h2loop.Server{
		Addr:           *addr,
		Handler:        h2loop.HandlerFunc(handle),
		InlineHandlers: *inline,
		EnablePush:     true, // /push
		// /echo answers the body as it streams in; other bodies are
		// buffered before their handler starts.
		StreamRequestBodyFunc: func(ctx *h2loop.RequestCtx) bool { return ctx.Path() == "/echo" },
		// Every handler but /delay only fills in a response (an /echo whose
		// body is complete never waits either): they run on the reading
		// goroutine, without a hand-off to the pool.
		InlineHandlerFunc: func(ctx *h2loop.RequestCtx) bool { return !waits(ctx.Path()) },
		ReusePort:         *reuse,
	}
	srv.AltSvc = *altSvc
	for _, o := range strings.Split(*origin, ",") {
		if o = strings.TrimSpace(o); o != "" {
			srv.Origins = append(srv.Origins, o)
		}
	}
	if *verbose {
		srv.ErrorLog = log.New(os.Stderr, "", log.LstdFlags)
	}
	if *debugAddr != "" {
		expvar.Publish("h2loop", expvar.Func(func() any {
			if m := srv.Metrics(); m != nil {
				return m.Snapshot()
			}
			return nil
		}))
		reg := prometheus.NewRegistry()
		reg.MustRegister(h2prom.NewCollector(srv, h2prom.Options{}))
		http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		dl, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("hello: debug on %s", dl.Addr())
		go func() { log.Println(http.Serve(dl, nil)) }()
	}
	// Every listener is bound before the "serving on" line, which names the
	// address bound (with port 0 in -addr, the one the kernel chose); a
	// listener that cannot bind ends the process.
	errc := make(chan error, 2)
	ln, err := srv.Listen(*addr)
	if err != nil {
		log.Fatal(err)
	}
	if *tlsAddr != "" {
		tln, err := srv.Listen(*tlsAddr)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("hello: TLS on %s", tln.Addr())
		go func() { errc <- srv.ServeTLS(tln, *cert, *key) }()
	}
	go func() { errc <- srv.Serve(ln) }()
	log.Printf("hello: serving on %s", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-errc:
		if err != nil && err != h2loop.ErrServerClosed {
			log.Fatal(err)
		}
	case <-sig:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Printf("hello: shutdown: %v", err)
		}
	}
}

// sleep waits d, or less if the client goes away: it reports whether the
// request is still wanted.
func sleep(ctx *h2loop.RequestCtx, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
