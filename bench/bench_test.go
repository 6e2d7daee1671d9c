package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/bench/internal/h2c"
	"github.com/h2loop/h2loop/bench/internal/hello"
	"golang.org/x/net/http2"
)

// server is a server under test, listening on loopback in this process.
type server struct {
	name string
	addr string
	stop func()
}

// serverKinds are the servers every benchmark pairs, same handler logic
// (bench/internal/hello) and same settings as their defaults.
var serverKinds = []struct {
	name  string
	start func(tb testing.TB) server
}{
	{"h2loop", func(tb testing.TB) server { return startH2loop(tb, false) }},
	{"h2loop-inline", func(tb testing.TB) server { return startH2loop(tb, true) }},
	{"nethttp", startNetHTTP},
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

func startH2loop(tb testing.TB, inline bool) server {
	ln := listen(tb)
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(hello.H2loop), InlineHandlers: inline}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return server{addr: ln.Addr().String(), stop: func() {
		srv.Close()
		<-done
	}}
}

func startNetHTTP(tb testing.TB) server {
	ln := listen(tb)
	srv := &http.Server{Handler: hello.NetHTTP}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return server{addr: ln.Addr().String(), stop: func() {
		srv.Close()
		<-done
	}}
}

// workload is one request, repeated, with its concurrency.
type workload struct {
	req     h2c.Request
	conns   int // connections (h2load -c)
	streams int // requests in flight per connection (h2load -m)
	respLen int // response body bytes per request
}

var post4K = hello.Pattern(4096)

var (
	wGet        = workload{req: h2c.Request{Path: "/"}, conns: 8, streams: 16, respLen: len(hello.Body)}
	wGetLatency = workload{req: h2c.Request{Path: "/"}, conns: 1, streams: 1, respLen: len(hello.Body)}
	wPostEcho   = workload{req: h2c.Request{Method: "POST", Path: "/echo", Body: post4K}, conns: 8, streams: 16, respLen: len(post4K)}
	wGet1MB     = workload{req: h2c.Request{Path: "/bytes/1048576"}, conns: 4, streams: 1, respLen: 1 << 20}
)

// BenchmarkGet is GET / (a 14-byte text/plain body) on 8 connections with
// 16 requests in flight on each.
func BenchmarkGet(b *testing.B) { benchServers(b, wGet) }

// BenchmarkGetLatency is GET / on one connection, one request at a time.
func BenchmarkGetLatency(b *testing.B) { benchServers(b, wGetLatency) }

// BenchmarkPostEcho4K is POST /echo with a 4 KiB body, echoed, on 8
// connections with 16 requests in flight on each.
func BenchmarkPostEcho4K(b *testing.B) { benchServers(b, wPostEcho) }

// BenchmarkGet1MB is GET of a 1 MiB body on 4 connections, one at a time.
func BenchmarkGet1MB(b *testing.B) { benchServers(b, wGet1MB) }

func benchServers(b *testing.B, w workload) {
	for _, k := range serverKinds {
		srv := k.start(b)
		b.Run(k.name, func(b *testing.B) { runWorkload(b, srv.addr, w) })
		srv.stop()
	}
}

// runWorkload runs b.N requests of w against addr with the raw client and
// reports, besides ns/op and the process's allocs/op, the allocations per
// request counted by runtime.MemStats around the timed part only
// (srv-allocs/req, srv-B/req): the client allocates nothing in steady state
// (h2c's TestRunAllocatesNothing), so these are the server's.
func runWorkload(b *testing.B, addr string, w workload) {
	b.ReportAllocs()
	if w.respLen > 64<<10 {
		b.SetBytes(int64(w.respLen))
	}
	conns := make([]*h2c.Conn, w.conns)
	for i := range conns {
		c, err := h2c.Dial(addr, w.req, w.streams)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		// warm up: SETTINGS exchanged, HPACK tables and pools filled
		if err := c.Run(4 * w.streams); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	before := make([]h2c.Stats, len(conns))
	for i, c := range conns {
		before[i] = c.Stats
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	for i, c := range conns {
		n := b.N / len(conns)
		if i < b.N%len(conns) {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Run(n)
		}()
	}
	wg.Wait()
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	var got h2c.Stats
	for i, c := range conns {
		if errs[i] != nil {
			b.Fatal(errs[i])
		}
		got.Responses += c.Responses - before[i].Responses
		got.Non200 += c.Non200 - before[i].Non200
		got.BodyBytes += c.BodyBytes - before[i].BodyBytes
		got.Writes += c.Writes - before[i].Writes
		got.Reads += c.Reads - before[i].Reads
	}
	if got.Responses != uint64(b.N) || got.Non200 != 0 || got.BodyBytes != uint64(b.N)*uint64(w.respLen) {
		b.Fatalf("%d responses, %d not 200, %d body bytes; want %d, 0, %d",
			got.Responses, got.Non200, got.BodyBytes, b.N, b.N*w.respLen)
	}
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "srv-allocs/req")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(b.N), "srv-B/req")
	b.ReportMetric(float64(got.Reads)/float64(b.N), "client-reads/req")
}

// BenchmarkXNetClientGet is BenchmarkGet's request driven by Go's own
// HTTP/2 client (golang.org/x/net/http2.Transport over plain TCP) from 64
// goroutines, to show the cost of that client: its allocations and CPU
// dwarf the server's, which is why the other benchmarks use h2c.
func BenchmarkXNetClientGet(b *testing.B) {
	for _, k := range serverKinds {
		srv := k.start(b)
		b.Run(k.name, func(b *testing.B) {
			tr := &http2.Transport{
				AllowHTTP: true,
				DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			}
			defer tr.CloseIdleConnections()
			url := "http://" + srv.addr + "/"
			get := func() error {
				req, err := http.NewRequest("GET", url, nil)
				if err != nil {
					return err
				}
				resp, err := tr.RoundTrip(req)
				if err != nil {
					return err
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && (resp.StatusCode != 200 || n != int64(len(hello.Body))) {
					err = fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
				}
				return err
			}
			if err := get(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(32) // 64 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := get(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		srv.stop()
	}
}

// TestServersAgree runs every workload briefly against every server and
// checks the responses (status, body length), so the benchmarks measure
// servers doing the same thing.
func TestServersAgree(t *testing.T) {
	for _, k := range serverKinds {
		srv := k.start(t)
		for name, w := range map[string]workload{"get": wGet, "latency": wGetLatency, "post": wPostEcho, "1mb": wGet1MB} {
			c, err := h2c.Dial(srv.addr, w.req, w.streams)
			if err != nil {
				t.Fatal(err)
			}
			c.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
			const n = 40
			if err := c.Run(n); err != nil {
				t.Fatalf("%s %s: %v", k.name, name, err)
			}
			if c.Responses != n || c.Non200 != 0 || c.BodyBytes != n*uint64(w.respLen) {
				t.Errorf("%s %s: %d responses, %d not 200, %d body bytes; want %d, 0, %d",
					k.name, name, c.Responses, c.Non200, c.BodyBytes, n, n*w.respLen)
			}
			c.Close()
		}
		srv.stop()
	}
}
