package loop

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/engine"
)

// fakeSink records what a connection writes.
type fakeSink struct {
	out    []byte
	writes int
	closed bool
	fail   bool
}

func (s *fakeSink) write(b []byte) error {
	if s.fail {
		return errors.New("broken pipe")
	}
	s.out = append(s.out, b...)
	s.writes++
	return nil
}

func (s *fakeSink) closeSocket()      { s.closed = true }
func (s *fakeSink) buffered() int     { return 0 }
func (s *fakeSink) netConn() net.Conn { return nil }
func (s *fakeSink) hooks() *connHooks { return nil }

// h1kit drives one h1conn as the transports do: bytes not consumed are
// offered again with the next ones.
type h1kit struct {
	t        *testing.T
	core     *Core
	sink     *fakeSink
	h        *h1conn
	buf      []byte
	done     bool
	served   int
	acquired int
	released int
	canceled int
	lastReq  *engine.Request
	spare    *engine.Request // reused by Acquire for the allocation tests
}

func newH1Kit(t *testing.T, isTLS bool, cfg engine.Config, handler func(k *h1kit, r *engine.Request, tr Transport)) *h1kit {
	k := &h1kit{t: t, sink: &fakeSink{}}
	if handler == nil {
		handler = testHandler
	}

	k.core = NewCore(Options{
		Engine: cfg,
		Date:   func() string { return kitDate },
		Hooks: Hooks{
			Acquire: func() *engine.Request {
				k.acquired++
				r := k.spare
				if r == nil {
					r = new(engine.Request)
				}
				k.spare = nil
				r.Reset()
				return r
			},
			Release: func(r *engine.Request) {
				k.released++
				r.Reset()
				k.spare = r
			},
			Serve: func(r *engine.Request, tr Transport) {
				k.served++
				k.lastReq = r
				handler(k, r, tr)
				tr.Finish(r)
			},
			Canceled: func(r *engine.Request) { k.canceled++ },
		},
	})
	k.h = newH1Conn(k.core, k.sink, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, isTLS)
	return k
}

// testHandler: "/" says hello; "/echo" echoes the body; "/stream" flushes
// twice and sends a trailer; "/status/N" answers N with a body;
// "/trailer" sends a trailer without flushing; "/headers" sets odd fields.
func testHandler(k *h1kit, r *engine.Request, tr Transport) {
	p := r.Header.Path
	switch {
	case p == "/":
		r.AddHeader("content-type", "text/plain")
		r.RespBody = append(r.RespBody, "hello"...)
	case p == "/echo":
		var buf [7]byte
		for {
			n, err := tr.ReadBody(r, buf[:])
			r.RespBody = append(r.RespBody, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				k.t.Errorf("ReadBody: %v", err)
				return
			}
		}
	case p == "/stream":
		r.RespBody = append(r.RespBody, "ab"...)
		if err := tr.Flush(r); err != nil {
			k.t.Errorf("Flush: %v", err)
		}
		r.RespBody = append(r.RespBody, "cde"...)
		tr.Flush(r)
		r.RespBody = append(r.RespBody, "f"...)
		r.AddTrailer("x-sum", "6")
	case p == "/trailer":
		r.RespBody = append(r.RespBody, "body"...)
		r.AddTrailer("grpc-status", "0")
	case strings.HasPrefix(p, "/status/"):
		code := 0
		for _, c := range p[len("/status/"):] {
			code = code*10 + int(c-'0')
		}
		r.Status = code
		r.RespBody = append(r.RespBody, "xyz"...)
	case p == "/headers":
		r.AddHeader("connection", "keep-alive")
		r.AddHeader("transfer-encoding", "gzip")
		r.AddHeader("content-length", "99")
		r.AddHeader("x-evil", "a\r\nSet-Cookie: b")
		r.AddHeaderBytes("x-bytes", []byte("v"))
		r.RespBody = append(r.RespBody, "ok"...)
	case p == "/reset":
		tr.Reset(r)
	default:
		r.Status = 404
	}
}

// feed offers data (after what is left over) and returns what was written.
func (k *h1kit) feed(data string) string {
	k.t.Helper()
	if k.done {
		k.t.Fatalf("feed after done")
	}
	k.buf = append(k.buf, data...)
	start := len(k.sink.out)
	used, need, done := k.h.input(k.buf)
	if used > len(k.buf) || used < 0 {
		k.t.Fatalf("used %d of %d", used, len(k.buf))
	}
	k.buf = k.buf[:copy(k.buf, k.buf[used:])]
	if !done && len(k.buf) > 0 && need <= len(k.buf) && k.h.up == nil {
		k.t.Fatalf("%d bytes left but need=%d", len(k.buf), need)
	}
	k.done = done
	// Every response carries the kit's date (TestH1Date checks where);
	// the expected outputs leave it out.
	return strings.ReplaceAll(string(k.sink.out[start:]), kitDateLine, "")
}

// kitDate is the HTTP date of the kit's responses.
const (
	kitDate     = "Sun, 06 Nov 1994 08:49:37 GMT"
	kitDateLine = "Date: " + kitDate + "\r\n"
)

// Responses carry a Date field (RFC 9110 §6.6.1: "An origin server with a
// clock ... MUST generate a Date header field in all 2xx (Successful), 3xx
// (Redirection), and 4xx (Client Error) responses"), unless the handler
// set one; interim responses do not.
func TestH1Date(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.feed("")
	k.buf = append(k.buf, getRoot...)
	start := len(k.sink.out)
	k.h.input(k.buf)
	k.buf = k.buf[:0]
	if got := string(k.sink.out[start:]); !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"+kitDateLine) {
		t.Fatalf("no Date: %q", got)
	}
	own := newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		r.AddHeader("date", "Tue, 15 Nov 1994 08:12:31 GMT")
	})
	start = len(own.sink.out)
	own.h.input([]byte(getRoot))
	if got := string(own.sink.out[start:]); strings.Count(got, "Date: ") != 1 || !strings.Contains(got, "Date: Tue, 15 Nov 1994") {
		t.Fatalf("handler's own date: %q", got)
	}
}

func (k *h1kit) expect(data, want string, wantDone bool) {
	k.t.Helper()
	got := k.feed(data)
	if got != want || k.done != wantDone {
		k.t.Fatalf("after %q:\ngot  %q done=%v\nwant %q done=%v", data, got, k.done, want, wantDone)
	}
}

const (
	getRoot  = "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n"
	helloRsp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
)

func TestH1KeepAlive(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect(getRoot, helloRsp, false)
	k.expect(getRoot, helloRsp, false)
	if k.served != 2 || k.acquired != 2 || k.released != 2 {
		t.Fatalf("served %d acquired %d released %d", k.served, k.acquired, k.released)
	}
	if k.sink.writes != 2 || k.sink.closed || k.h.idle() {
		t.Fatalf("writes %d closed %v", k.sink.writes, k.sink.closed)
	}
}

func TestH1RequestHeader(t *testing.T) {
	var got []string
	k := newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		h := &r.Header
		got = append(got, h.Method, h.Scheme, h.Authority, h.Path)
		for _, f := range h.Fields {
			got = append(got, f.Name+"="+f.Value)
		}
		if h.ContentLength != 3 {
			t.Errorf("ContentLength %d", h.ContentLength)
		}
	})
	k.feed("POST /a?b HTTP/1.1\r\nHOST: h.example:81\r\nX-Mixed-Case: V a\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\nabc")
	want := []string{"POST", "http", "h.example:81", "/a?b", "x-mixed-case=V a", "content-length=3", "connection=keep-alive"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// Over TLS the scheme is https; an absolute-form target gives the
	// authority and the path.
	got = nil
	k = newH1Kit(t, true, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		h := &r.Header
		got = append(got, h.Method, h.Scheme, h.Authority, h.Path)
	})
	k.feed("GET http://other.example?q=1 HTTP/1.1\r\nHost: h\r\n\r\nCONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n")
	want = []string{"GET", "https", "other.example", "/?q=1", "CONNECT", "", "db:5432", ""}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestH1Pipelining(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	echo := "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
	k.expect(getRoot+echo+"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n",
		helloRsp+
			"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"+
			"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false)
	if k.sink.writes != 1 {
		t.Fatalf("%d writes for 3 pipelined responses, want 1", k.sink.writes)
	}
	if k.served != 3 || k.released != 3 {
		t.Fatalf("served %d released %d", k.served, k.released)
	}
}

func TestH1PartialPieces(t *testing.T) {
	// Every request of a stream fed one byte at a time gives the same
	// bytes as fed whole.
	in := getRoot + "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd" +
		"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n3;e=1\r\nzzz\r\n0\r\nT: 1\r\n\r\n"
	whole := newH1Kit(t, false, engine.Config{}, nil)
	want := whole.feed(in)
	if !strings.HasSuffix(want, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nxyzzz") {
		t.Fatalf("whole: %q", want)
	}
	k := newH1Kit(t, false, engine.Config{}, nil)
	var got strings.Builder
	for i := 0; i < len(in); i++ {
		got.WriteString(k.feed(in[i : i+1]))
	}
	if got.String() != want || len(k.buf) != 0 {
		t.Fatalf("byte by byte:\n%q\nwant\n%q", got.String(), want)
	}
}

func TestH1ChunkedBody(t *testing.T) {
	var trailer string
	k := newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		testHandler(k, r, tr)
		if r.Trailer != nil {
			for _, f := range r.Trailer.Fields {
				trailer += f.Name + "=" + f.Value + ";"
			}
		}
	})
	k.expect("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", "", false)
	k.expect("6\r\n world\r\n0\r\nX-Check: 42\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", false)
	if trailer != "x-check=42;" {
		t.Fatalf("trailer %q", trailer)
	}
}

func TestH1Expect100(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n", false)
	k.expect("da", "", false)
	k.expect("ta", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndata", false)
	// The body already came with the head: no 100.
	k.expect("PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	// Part of the body came with the head: no 100 either.
	k.expect("PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nab", "", false)
	k.expect("cd", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", false)
	// Chunked.
	k.expect("PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n", false)
	k.expect("1\r\nz\r\n0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", false)
	// Too large: 413 instead of 100.
	k2 := newH1Kit(t, false, engine.Config{MaxRequestBodySize: 10}, nil)
	k2.expect("PUT /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n",
		errRsp(413, "Content Too Large", "request body too large"), false)
}

func errRsp(code int, text, reason string) string {
	body := reason + "\n"
	return "HTTP/1.1 " + itoa(code) + " " + text + "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
		itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestH1Errors(t *testing.T) {
	tests := []struct {
		name string
		cfg  engine.Config
		in   string
		want string
	}{
		{"413 content-length", engine.Config{MaxRequestBodySize: 10}, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
			errRsp(413, "Content Too Large", "request body too large")},
		{"413 chunked", engine.Config{MaxRequestBodySize: 10}, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n3\r\n",
			errRsp(413, "Content Too Large", "request body too large")},
		{"431", engine.Config{MaxHeaderListSize: 100}, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("b", 100) + "\r\n\r\n",
			errRsp(431, "Request Header Fields Too Large", "request head too large")},
		{"414", engine.Config{MaxHeaderListSize: 100}, "GET /" + strings.Repeat("p", 100),
			errRsp(414, "URI Too Long", "request line too long")},
		{"400 space before colon", engine.Config{}, "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
			errRsp(400, "Bad Request", "whitespace before colon")},
		{"400 obs-fold", engine.Config{}, "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  b\r\n\r\n",
			errRsp(400, "Bad Request", "obsolete line folding")},
		{"400 TE and CL", engine.Config{}, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
			errRsp(400, "Bad Request", "both Content-Length and Transfer-Encoding")},
		{"400 no Host", engine.Config{}, "GET / HTTP/1.1\r\n\r\n",
			errRsp(400, "Bad Request", "missing Host")},
		{"400 bad chunk", engine.Config{}, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
			errRsp(400, "Bad Request", "invalid chunk size")},
		{"501 gzip", engine.Config{}, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			errRsp(501, "Not Implemented", "unsupported transfer coding")},
		{"505", engine.Config{}, "GET / HTTP/2.0\r\n\r\n",
			errRsp(505, "HTTP Version Not Supported", "unsupported HTTP version")},
		{"417", engine.Config{}, "GET / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n",
			errRsp(417, "Expectation Failed", "unsupported expectation")},
		{"not HTTP: closed without a word", engine.Config{}, "INVALID CONNECTION PREFACE\r\n\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newH1Kit(t, false, tt.cfg, nil)
			if tt.want == "" {
				k.expect(tt.in, "", true)
				if !k.h.idle() {
					t.Fatal("not closed")
				}
				return
			}
			// The answer, then input is discarded until the drain time is over.
			k.expect(tt.in, tt.want, false)
			if len(k.buf) != 0 {
				t.Fatalf("%d bytes not consumed", len(k.buf))
			}
			k.expect(getRoot, "", false)
			if len(k.buf) != 0 || k.served != 0 || k.acquired != k.released {
				t.Fatalf("left %d, served %d, acquired %d, released %d", len(k.buf), k.served, k.acquired, k.released)
			}
			t0 := time.Unix(1000, 0)
			k.h.tick(t0)
			k.h.tick(t0.Add(h1DrainTime - time.Millisecond))
			if k.sink.closed {
				t.Fatal("closed before the drain time")
			}
			k.h.tick(t0.Add(h1DrainTime))
			if !k.sink.closed || !k.h.idle() {
				t.Fatal("not closed after the drain time")
			}
		})
	}
	// A good request before a bad one is answered first.
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect(getRoot+"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", helloRsp+errRsp(400, "Bad Request", "invalid field name"), false)
	// Shutdown closes a draining connection at once.
	k.h.shutdown()
	if !k.sink.closed {
		t.Fatal("draining connection not closed by shutdown")
	}
}

func TestH1Head(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n", false)
	k.expect("HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", false)
	k.expect("HEAD /headers HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nX-Evil: a  Set-Cookie: b\r\nX-Bytes: v\r\n\r\n", false)
	k.expect("GET /status/204 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n", false)
	k.expect("GET /status/304 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n", false)
	k.expect("GET /status/599 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 599 \r\nContent-Length: 3\r\n\r\nxyz", false)
}

func TestH1ResponseFields(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	// The handler's framing and connection fields are dropped, its values
	// cannot split the head.
	k.expect("GET /headers HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Evil: a  Set-Cookie: b\r\nX-Bytes: v\r\nContent-Length: 2\r\n\r\nok", false)
}

func TestH1ConnectionClose(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"+getRoot,
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
	if k.served != 1 {
		t.Fatalf("served %d after Connection: close", k.served)
	}
}

func TestH1HTTP10(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello", false)
	k.expect("GET / HTTP/1.0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
	// Streaming to HTTP/1.0: no chunks, the close ends the body; trailers are dropped.
	k = newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcdef", true)
	k = newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET /trailer HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody", true)
}

func TestH1Streaming(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n1\r\nf\r\n0\r\nX-Sum: 6\r\n\r\n", false)
	k.expect("GET /trailer HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\nGrpc-Status: 0\r\n\r\n", false)
	k.expect(getRoot, helloRsp, false)
}

func TestH1LargeBodyWrittenDirectly(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10) // 128 KiB
	k := newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		r.SetStaticBody(big)
	})
	got := k.feed(getRoot)
	want := "HTTP/1.1 200 OK\r\nContent-Length: 131072\r\n\r\n" + string(big)
	if got != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if k.sink.writes != 2 {
		t.Fatalf("%d writes, want head and body apart", k.sink.writes)
	}
}

func TestH1Reset(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect("GET /reset HTTP/1.1\r\nHost: h\r\n\r\n"+getRoot, "", true)
	if !k.sink.closed || k.served != 1 || k.released != 1 {
		t.Fatalf("closed %v served %d released %d", k.sink.closed, k.served, k.released)
	}
	// A write that fails cancels the request and closes the connection.
	k = newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		k.sink.fail = true
		r.RespBody = append(r.RespBody, "x"...)
		if err := tr.Flush(r); err != ErrCanceled {
			t.Errorf("Flush = %v", err)
		}
		if err := tr.Flush(r); err != ErrCanceled {
			t.Errorf("second Flush = %v", err)
		}
	})
	k.expect(getRoot, "", true)
	if k.canceled != 1 || !k.sink.closed {
		t.Fatalf("canceled %d closed %v", k.canceled, k.sink.closed)
	}
}

const upgradeReq = "GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
	"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nTE: trailers\r\nAccept: */*\r\n\r\n"

func TestH1Upgrade(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	got := k.feed(upgradeReq + preface)
	if got != "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" || k.done {
		t.Fatalf("got %q done=%v", got, k.done)
	}
	if string(k.buf) != preface {
		t.Fatalf("left %q, want the preface", k.buf)
	}
	up := k.h.takeUpgrade()
	if up == nil || k.h.takeUpgrade() != nil {
		t.Fatal("takeUpgrade did not return the upgrade exactly once")
	}
	if string(up.settings) != "\x00\x03\x00\x00\x00\x64\x00\x04\x00\xa0\x00\x00\x00\x02\x00\x00\x00\x00" {
		t.Fatalf("settings %x", up.settings)
	}
	h := &up.req.Header
	var fields []string
	for _, f := range h.Fields {
		fields = append(fields, f.Name+"="+f.Value)
	}
	if h.Method != "GET" || h.Path != "/up" || h.Authority != "h" || h.Scheme != "http" ||
		strings.Join(fields, ";") != "te=trailers;accept=*/*" || !up.req.BodyComplete() {
		t.Fatalf("upgraded request %+v", h)
	}
	if k.served != 0 || k.released != 0 {
		t.Fatalf("served %d released %d: the upgraded request belongs to HTTP/2", k.served, k.released)
	}

	// With a body, the body goes along.
	k = newH1Kit(t, false, engine.Config{}, nil)
	post := strings.Replace(upgradeReq, "GET /up", "POST /up", 1)
	post = strings.Replace(post, "\r\n\r\n", "\r\nContent-Length: 3\r\n\r\n", 1)
	k.feed(post + "ab")
	if k.h.takeUpgrade() != nil {
		t.Fatal("upgrade before the body is complete")
	}
	k.feed("c" + preface)
	up = k.h.takeUpgrade()
	if up == nil || string(up.req.BodyBuffered()) != "abc" || string(k.buf) != preface {
		t.Fatalf("upgrade with body: %v, left %q", up, k.buf)
	}
}

func TestH1NoUpgrade(t *testing.T) {
	hello := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	for _, tc := range []struct {
		name string
		tls  bool
		req  string
	}{
		{"TLS", true, strings.Replace(upgradeReq, "/up", "/", 1)},
		{"bad settings", false, strings.Replace(strings.Replace(upgradeReq, "/up", "/", 1), "AAMAAABkAAQAoAAAAAIAAAAA", "AAMAAABkAA", 1)},
		{"no connection option", false, strings.Replace(strings.Replace(upgradeReq, "/up", "/", 1), "Upgrade, HTTP2-Settings", "Upgrade", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newH1Kit(t, tc.tls, engine.Config{}, nil)
			k.expect(tc.req, hello, false)
			if k.h.takeUpgrade() != nil {
				t.Fatal("upgraded")
			}
		})
	}
}

func TestH1Timeouts(t *testing.T) {
	cfg := engine.Config{IdleTimeout: 5 * time.Second, HeaderTimeout: 3 * time.Second}
	t0 := time.Unix(1000, 0)
	k := newH1Kit(t, false, cfg, nil)
	k.expect(getRoot, helloRsp, false)
	k.h.tick(t0)
	k.h.tick(t0.Add(5 * time.Second))
	if k.sink.closed {
		t.Fatal("closed at the idle timeout")
	}
	k.h.tick(t0.Add(6 * time.Second))
	if !k.sink.closed || !k.h.idle() {
		t.Fatal("idle connection not closed")
	}

	// A head that trickles in is bounded by HeaderTimeout from its start.
	k = newH1Kit(t, false, cfg, nil)
	k.feed("GET / HTTP/1.1\r\n")
	k.h.tick(t0)
	k.feed("Host: h\r\n")
	k.h.tick(t0.Add(2 * time.Second))
	k.feed("X: 1\r\n")
	k.h.tick(t0.Add(3 * time.Second))
	if k.sink.closed {
		t.Fatal("closed too early")
	}
	k.feed("Y: 1\r\n")
	k.h.tick(t0.Add(4 * time.Second))
	if !k.sink.closed {
		t.Fatal("slow head not closed")
	}

	// A partial body: its pending request is released when the socket closes.
	k = newH1Kit(t, false, cfg, nil)
	k.feed("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab")
	k.h.tick(t0)
	k.h.tick(t0.Add(29 * time.Second))
	if k.sink.closed {
		t.Fatal("closed while the body made progress within ReadTimeout")
	}
	k.h.tick(t0.Add(31 * time.Second))
	if !k.sink.closed {
		t.Fatal("stalled body not closed")
	}
	k.h.onClosed()
	if k.acquired != 1 || k.released != 1 {
		t.Fatalf("acquired %d released %d", k.acquired, k.released)
	}
}

func TestH1Shutdown(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.expect(getRoot, helloRsp, false)
	k.h.shutdown()
	if !k.sink.closed {
		t.Fatal("idle connection not closed by shutdown")
	}
	// During a request: Connection: close on its response, then done.
	k = newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		k.h.shutdown()
		testHandler(k, r, tr)
	})
	k.expect(getRoot+getRoot, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
	if k.served != 1 {
		t.Fatalf("served %d", k.served)
	}
	// A shut-down connection does not upgrade.
	k = newH1Kit(t, false, engine.Config{}, nil)
	k.h.shutting.Store(true)
	k.feed(upgradeReq)
	if k.h.takeUpgrade() != nil || !k.done {
		t.Fatal("upgraded during shutdown")
	}
}

func TestH1CloseCancelsHandler(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		k.h.close()
		r.RespBody = append(r.RespBody, "x"...)
	})
	k.expect(getRoot, "", true)
	if k.canceled != 1 || k.released != 1 {
		t.Fatalf("canceled %d released %d", k.canceled, k.released)
	}
}

// allocKit is a kit whose handler is trivial and whose Acquire reuses one
// request, as a server's pool does in steady state.
func allocKit(tb testing.TB) *h1kit {
	k := newH1Kit(nil, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		r.AddHeader("content-type", "text/plain")
		r.RespBody = append(r.RespBuffer(14), "hello, world!\n"...)
	})
	k.sink.out = make([]byte, 0, 4096)
	return k
}

var benchReq = []byte("GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: h2bench/1.0\r\n" +
	"Accept: text/plain,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n")

func TestH1KeepAliveGetNoAllocs(t *testing.T) {
	if poolRace {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	k := allocKit(t)
	k.t = t
	run := func() {
		k.sink.out = k.sink.out[:0]
		used, _, done := k.h.input(benchReq)
		if used != len(benchReq) || done {
			t.Fatalf("used %d done %v", used, done)
		}
	}
	run()
	if want := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + kitDateLine + "Content-Length: 14\r\n\r\nhello, world!\n"; string(k.sink.out) != want {
		t.Fatalf("%q", k.sink.out)
	}
	if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
		t.Fatalf("%v allocations per keep-alive GET, want 0", allocs)
	}
}

func BenchmarkH1KeepAliveGet(b *testing.B) {
	k := allocKit(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchReq)))
	for b.Loop() {
		k.sink.out = k.sink.out[:0]
		if used, _, done := k.h.input(benchReq); used != len(benchReq) || done {
			b.Fatal(used, done)
		}
	}
}

func BenchmarkH1Pipelined16(b *testing.B) {
	k := allocKit(b)
	in := bytes.Repeat(benchReq, 16)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		k.sink.out = k.sink.out[:0]
		if used, _, done := k.h.input(in); used != len(in) || done {
			b.Fatal(used, done)
		}
	}
}

// FuzzH1Input feeds arbitrary bytes, cut in two pieces, to a connection:
// it must not panic, must consume only what it was given, must leave
// unconsumed bytes only with a need beyond them, and must release every
// request it acquired once the socket is closed.
func FuzzH1Input(f *testing.F) {
	f.Add([]byte(getRoot+"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"), uint16(30))
	f.Add([]byte("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"), uint16(50))
	f.Add([]byte(upgradeReq+"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), uint16(3))
	f.Add([]byte("GET /stream HTTP/1.0\r\n\r\nHEAD /trailer HTTP/1.1\r\nHost: h\r\n\r\n"), uint16(9))
	f.Add([]byte("GET /reset HTTP/1.1\r\nHost: h\r\n\r\n"), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		k := newH1Kit(t, false, engine.Config{MaxRequestBodySize: 64, MaxHeaderListSize: 256}, nil)
		c := int(cut) % (len(data) + 1)
		for _, piece := range [][]byte{data[:c], data[c:]} {
			if k.done || k.h.up != nil {
				break
			}
			k.buf = append(k.buf, piece...)
			used, need, done := k.h.input(k.buf)
			if used < 0 || used > len(k.buf) {
				t.Fatalf("used %d of %d", used, len(k.buf))
			}
			k.buf = k.buf[:copy(k.buf, k.buf[used:])]
			if !done && k.h.up == nil && len(k.buf) > 0 && need <= len(k.buf) {
				t.Fatalf("%d bytes left, need %d", len(k.buf), need)
			}
			k.done = done
		}
		up := k.h.takeUpgrade()
		k.h.onClosed()
		if up != nil {
			k.released++ // HTTP/2 owns it now
		}
		if k.acquired != k.released {
			t.Fatalf("acquired %d, released %d", k.acquired, k.released)
		}
	})
}

// TestH1BodyNoAllocs: a request body that arrives in pieces (Content-Length
// and chunked) is gathered in a pooled buffer given back once it is copied
// to the request, and a flushed (chunked) response is written from the
// pass's pooled output buffer: nothing is allocated per request, and the
// connection holds neither buffer between requests.
func TestH1BodyNoAllocs(t *testing.T) {
	if poolRace {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	var got int
	p := make([]byte, 64)
	k := newH1Kit(nil, false, engine.Config{}, func(k *h1kit, r *engine.Request, tr Transport) {
		got = 0
		for {
			n, err := tr.ReadBody(r, p)
			got += n
			if err != nil {
				break
			}
		}
		r.RespBody = append(r.RespBuffer(9), "part one\n"...)
		tr.Flush(r)
		r.RespBody = append(r.RespBuffer(9), "part two\n"...)
	})
	k.t = t
	k.sink.out = make([]byte, 0, 4096)
	body := strings.Repeat("b", 100)
	pieces := [][2]string{
		{"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + body[:40], body[40:]},
		{"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n28\r\n" + body[:40], "\r\n3c\r\n" + body[40:] + "\r\n0\r\n\r\n"},
	}
	for _, p := range pieces {
		first, rest := []byte(p[0]), []byte(p[1])
		run := func() {
			k.sink.out = k.sink.out[:0]
			if used, _, done := k.h.input(first); used != len(first) || done {
				t.Fatalf("first piece: used %d of %d, done %v", used, len(first), done)
			}
			if used, _, done := k.h.input(rest); used != len(rest) || done {
				t.Fatalf("rest: used %d of %d, done %v", used, len(rest), done)
			}
			if got != len(body) || !bytes.HasSuffix(k.sink.out, []byte("9\r\npart two\n\r\n0\r\n\r\n")) {
				t.Fatalf("handler read %d bytes, response %q", got, k.sink.out)
			}
			if k.h.c.HoldsBuffers() {
				t.Fatal("the connection keeps a buffer between requests")
			}
		}
		// Enough for the pools (shared by every test of the process) to
		// calibrate on these sizes (bytebufferpool counts 42,000 returns
		// of one size class): a pool that learnt smaller sizes from other
		// tests drops larger buffers until it does.
		for i := 0; i < 43000; i++ {
			run()
		}
		if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
			t.Fatalf("%q: %v allocations per request, want 0", p[0], allocs)
		}
	}
}

// TestH1AsyncInline: on a transport that hands handlers to the pool
// (async), an inline handler runs during input and its request is
// released once, by input.
func TestH1AsyncInline(t *testing.T) {
	k := newH1Kit(t, false, engine.Config{}, nil)
	k.core.opts.InlineHandlers = true
	k.h.async = true
	k.h.resume = func(*h1conn, bool, bool) { t.Error("resumed after an inline handler") }
	k.expect(getRoot+getRoot, helloRsp+helloRsp, false)
	if k.served != 2 || k.acquired != 2 || k.released != 2 {
		t.Fatalf("served %d, acquired %d, released %d", k.served, k.acquired, k.released)
	}
}
