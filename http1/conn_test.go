package http1

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// connKit drives a Conn as a transport does: unused input is offered
// again with the next bytes, every request is answered at once, and the
// output is collected.
type connKit struct {
	t      *testing.T
	c      Conn
	in     []byte
	out    []byte
	served []string // "METHOD path body" of each request served
	head   string   // "METHOD path" of a head reported before its body
	events []Event
}

func newConnKit(t *testing.T, cfg Config) *connKit {
	k := &connKit{t: t}
	k.c.Init(&cfg)
	return k
}

// answer writes the response the kit's "handler" gives: the path decides.
//
//	/stream: a streamed body "ab" then "c", trailer X-T: 1
//	/declared/N: a streamed body "ab" then "c", content-length N declared
//	/empty:  204
//	/big:    a body of DirectWrite bytes
//	else:    "hello", Content-Length
func (k *connKit) answer() {
	hd := k.c.Head()
	if k.head == "" {
		k.head = string(hd.Method) + " " + string(hd.Path)
	}
	k.served = append(k.served, k.head+" "+string(k.c.RequestBody()))
	path := k.head[strings.IndexByte(k.head, ' ')+1:]
	k.head = ""
	switch {
	case strings.HasPrefix(path, "/declared/"):
		n, _ := strconv.ParseInt(path[len("/declared/"):], 10, 64)
		k.c.StartResponseLength(200, n)
		k.c.HeaderField("Content-Length", "99") // the declared one is written
		k.c.EndHead(-1, "D")
		for _, b := range []string{"ab", "c"} {
			if got := k.c.Clip([]byte(b)); len(got) > len(b) {
				k.t.Fatalf("Clip(%q) = %q", b, got)
			}
			k.c.WriteBody([]byte(b))
		}
	case path == "/stream":
		k.c.StartResponse(200, true, false)
		k.c.EndHead(-1, "D")
		k.c.WriteBody([]byte("ab"))
		k.c.WriteBody([]byte("c"))
		k.c.TrailerField("X-T", "1")
		k.c.TrailerField("Content-Length", "9") // not a trailer
	case path == "/empty":
		k.c.StartResponse(204, false, false)
		k.c.HeaderField("Content-Length", "3")
		k.c.EndHead(0, "D")
	case path == "/big":
		body := strings.Repeat("x", DirectWrite)
		k.c.StartResponse(200, false, false)
		k.c.EndHead(len(body), "D")
		if !k.c.WriteBody([]byte(body)) {
			k.t.Fatal("a large body was copied")
		}
		k.take()
		k.out = append(k.out, "<direct>"...)
		k.c.DirectWritten()
	default:
		k.c.StartResponse(200, false, false)
		k.c.HeaderField("Connection", "keep-alive") // ours: dropped
		k.c.HeaderField("X-A", "b")
		k.c.EndHead(5, "D")
		k.c.WriteBody([]byte("hello"))
	}
	k.c.ReleaseBody()
	k.c.EndResponse()
}

func (k *connKit) take() {
	k.out = append(k.out, k.c.Output()...)
	k.c.ConsumeOutput(len(k.c.Output()))
}

// feed offers data and runs the connection until it needs more.
func (k *connKit) feed(data string) string {
	k.t.Helper()
	k.in = append(k.in, data...)
	start := len(k.out)
	for {
		used, ev := k.c.Feed(k.in)
		if used < 0 || used > len(k.in) {
			k.t.Fatalf("used %d of %d", used, len(k.in))
		}
		k.events = append(k.events, ev)
		if ev == EventHead {
			// The head borrows from the input: take what is needed now.
			k.head = string(k.c.Head().Method) + " " + string(k.c.Head().Path)
		}
		if ev == EventRequest {
			k.answer()
		}
		k.in = k.in[:copy(k.in, k.in[used:])]
		k.take()
		if ev == EventNone || ev == EventUpgrade || k.c.Closed() {
			if ev == EventNone && len(k.in) > 0 && k.c.Need() <= len(k.in) && !k.c.Draining() {
				k.t.Fatalf("%d bytes left, need %d", len(k.in), k.c.Need())
			}
			return string(k.out[start:])
		}
	}
}

func (k *connKit) expect(data, want string, closed bool) {
	k.t.Helper()
	if got := k.feed(data); got != want || k.c.Closed() != closed {
		k.t.Fatalf("after %q:\ngot  %q closed=%v\nwant %q closed=%v", data, got, k.c.Closed(), want, closed)
	}
}

const (
	cGet   = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	cHello = "HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\n\r\nhello"
)

func TestConnKeepAliveAndPipelining(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect(cGet, cHello, false)
	k.expect(cGet+cGet+"GET /x HT", cHello+cHello, false)
	k.expect("TP/1.1\r\nHost: h\r\n\r\n", cHello, false)
	if k.c.Phase() != PhaseIdle || k.c.HoldsBuffers() {
		t.Fatalf("phase %d, buffers %v", k.c.Phase(), k.c.HoldsBuffers())
	}
	if len(k.served) != 4 {
		t.Fatalf("served %q", k.served)
	}
}

func TestConnBodies(t *testing.T) {
	k := newConnKit(t, Config{})
	// Content-Length in pieces: the head is reported first.
	k.expect("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab", "", false)
	if k.events[len(k.events)-2] != EventHead || !k.c.BodyArriving() || k.c.Phase() != PhaseBody {
		t.Fatalf("events %v", k.events)
	}
	k.expect("cde", cHello, false)
	// Chunked, with a trailer, in pieces.
	k.expect("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r", "", false)
	k.expect("\n2;ext=1\r\nde\r\n0\r\nT: 1\r\n\r\n", cHello, false)
	if want := []string{"POST /p abcde", "POST /c abcde"}; strings.Join(k.served, "|") != strings.Join(want, "|") {
		t.Fatalf("served %q", k.served)
	}
}

func TestConnExpect100(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", Continue, false)
	k.expect("ok", cHello, false)
	// The body came with the head: no 100.
	k.expect("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", cHello, false)
}

func TestConnHead(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\n\r\n", false)
	k.expect("HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\n\r\n", false)
	k.expect("GET /empty HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 204 No Content\r\nDate: D\r\n\r\n", false)
}

func TestConnChunkedOut(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.1 200 OK\r\nDate: D\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\nX-T: 1\r\n\r\n", false)
	// HTTP/1.0: the body ends with the connection.
	k = newConnKit(t, Config{})
	k.expect("GET /stream HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nConnection: close\r\n\r\nabc", true)
	// A large body is left to the transport, chunk framing around it.
	k = newConnKit(t, Config{})
	k.expect("GET /big HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 32768\r\n\r\n<direct>", false)
}

// A streamed body of a declared length goes out with that Content-Length,
// not chunked; bytes beyond it are dropped, and a body that ends short of
// it closes the connection. A response without a body keeps the
// handler's field.
func TestConnDeclaredLength(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect("GET /declared/3 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 3\r\n\r\nabc", false)
	k.expect("GET /declared/2 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 2\r\n\r\nab", false)
	k.expect("GET /declared/0 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", false)
	k.expect("HEAD /declared/7 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nDate: D\r\n\r\n", false)
	k.expect("GET /declared/5 HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Length: 5\r\n\r\nabc", true)
}

func TestConnClose(t *testing.T) {
	k := newConnKit(t, Config{})
	k.expect("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"+cGet,
		"HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
	if len(k.served) != 1 {
		t.Fatalf("served %d after Connection: close", len(k.served))
	}
	// HTTP/1.0: closes, unless it asks for keep-alive (said back).
	k = newConnKit(t, Config{})
	k.expect("GET / HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
	k = newConnKit(t, Config{})
	k.expect("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello", false)
	// Shutdown: the response in progress is the last.
	k = newConnKit(t, Config{})
	k.c.Shutdown()
	k.expect(cGet+cGet, "HTTP/1.1 200 OK\r\nX-A: b\r\nDate: D\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", true)
}

func errAnswer(status int, reason string) string {
	return string(AppendStatusLine(nil, status)) + "Content-Type: text/plain; charset=utf-8\r\n" +
		string(AppendContentLength(nil, int64(len(reason)+1))) + "Connection: close\r\n\r\n" + reason + "\n"
}

// TestConnRefusals: limits and request smuggling answer with the right
// status and "Connection: close", then drain; bytes that are not HTTP
// close at once.
func TestConnRefusals(t *testing.T) {
	cases := []struct {
		name, in string
		err      *Error
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrLengthAndChunked},
		{"duplicate CL", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", ErrContentLength},
		{"CL list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd", ErrContentLength},
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrChunkSize},
		{"chunk size overflow", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", ErrChunkSize},
		{"chunk without CRLF", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab", ErrChunkEnd},
		{"TE not chunked last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrTransferEncoding},
		{"body too large", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", ErrBodyTooLarge},
		{"chunked too large", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nc\r\n", ErrBodyTooLarge},
		{"head too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", ErrHeadTooLarge},
		{"URI too long", "GET /" + strings.Repeat("a", 300), ErrURITooLong},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", ErrMissingHost},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", ErrVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := newConnKit(t, Config{MaxBody: 10, Limits: Limits{MaxHeadBytes: 256}})
			k.expect(tc.in, errAnswer(tc.err.Status, tc.err.Reason), false)
			if k.c.Err() != tc.err || !k.c.Draining() || k.c.Phase() != PhaseDrain {
				t.Fatalf("err %v draining %v", k.c.Err(), k.c.Draining())
			}
			k.expect(cGet, "", false) // discarded
			if len(k.in) != 0 || len(k.served) != 0 {
				t.Fatalf("left %d, served %q", len(k.in), k.served)
			}
			t0 := time.Unix(1000, 0)
			if k.c.Expired(t0) || k.c.Expired(t0.Add(999*time.Millisecond)) || !k.c.Expired(t0.Add(time.Second)) {
				t.Fatal("drain time")
			}
		})
	}
	k := newConnKit(t, Config{})
	k.expect("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS\r\n", "", true)
	if k.c.Err() == nil || k.c.Err().Status != 0 {
		t.Fatalf("err %v", k.c.Err())
	}
}

func TestConnUpgrade(t *testing.T) {
	up := "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
	k := newConnKit(t, Config{})
	k.expect(up+"PRI * HTTP/2.0", SwitchingToH2C, false)
	if string(k.in) != "PRI * HTTP/2.0" || len(k.c.UpgradeSettings()) != 12 || k.events[len(k.events)-1] != EventUpgrade {
		t.Fatalf("left %q, settings %x", k.in, k.c.UpgradeSettings())
	}
	// Not over TLS, not while shutting down, not when the transport
	// cannot hand the input over.
	for i, k := range []*connKit{newConnKit(t, Config{TLS: true}), newConnKit(t, Config{}), newConnKit(t, Config{})} {
		switch i {
		case 1:
			k.c.Shutdown()
		case 2:
			k.c.AllowUpgrade(false)
		}
		k.feed(up)
		if len(k.served) != 1 {
			t.Fatalf("served %d", len(k.served))
		}
	}
}

func TestConnTimeouts(t *testing.T) {
	cfg := Config{IdleTimeout: 5 * time.Second, HeaderTimeout: 3 * time.Second, ReadTimeout: 4 * time.Second}
	t0 := time.Unix(1000, 0)
	k := newConnKit(t, cfg)
	k.expect(cGet, cHello, false)
	if k.c.Expired(t0) || k.c.Expired(t0.Add(5*time.Second)) || !k.c.Expired(t0.Add(6*time.Second)) {
		t.Fatal("idle timeout")
	}
	// A head that trickles in keeps its clock.
	k = newConnKit(t, cfg)
	k.feed("GET / HTTP/1.1\r\n")
	k.c.Expired(t0)
	k.feed("Host: h\r\n")
	if k.c.Expired(t0.Add(3*time.Second)) || !k.c.Expired(t0.Add(4*time.Second)) {
		t.Fatal("header timeout")
	}
	// A body's clock restarts with progress.
	k = newConnKit(t, cfg)
	k.feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na")
	k.c.Expired(t0)
	k.feed("b")
	if k.c.Expired(t0.Add(3*time.Second)) || k.c.Expired(t0.Add(7*time.Second)) || !k.c.Expired(t0.Add(8*time.Second)) {
		t.Fatal("read timeout")
	}
}

// TestConnServingTakesNoInput: while a request is served, pipelined input
// waits; EndResponse lets it in.
func TestConnServingTakesNoInput(t *testing.T) {
	var c Conn
	c.Init(&Config{})
	in := []byte(cGet + cGet)
	used, ev := c.Feed(in)
	if ev != EventRequest || used != len(cGet) || !c.Serving() {
		t.Fatalf("used %d ev %d", used, ev)
	}
	if n, ev := c.Feed(in[used:]); n != 0 || ev != EventNone || c.Need() != 0 {
		t.Fatalf("fed while serving: %d %d", n, ev)
	}
	c.StartResponse(200, false, false)
	c.EndHead(0, "D")
	if !c.EndResponse() {
		t.Fatal("not kept")
	}
	if n, ev := c.Feed(in[used:]); n != len(cGet) || ev != EventRequest {
		t.Fatalf("second: %d %d", n, ev)
	}
}

func TestConnNoAllocs(t *testing.T) {
	if poolRace {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	k := newConnKit(t, Config{})
	req := []byte("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\n\r\n")
	run := func() {
		used, ev := k.c.Feed(req)
		if used != len(req) || ev != EventRequest {
			t.Fatalf("used %d ev %d", used, ev)
		}
		k.c.StartResponse(200, false, false)
		k.c.HeaderField("Content-Type", "text/plain")
		k.c.EndHead(5, "D")
		k.c.WriteBody([]byte("hello"))
		k.c.EndResponse()
		k.c.ConsumeOutput(len(k.c.Output()))
	}
	run()
	if a := testing.AllocsPerRun(1000, run); a != 0 {
		t.Fatalf("%v allocations per request", a)
	}
}

// FuzzConn feeds arbitrary bytes, cut in three pieces, to a connection
// that answers every request: it must not panic, must use only what it
// was given, must leave bytes unused only with a need beyond them (or
// while it drains, closes or upgrades), must answer every request it
// delivered, and must hold no buffer once closed.
func FuzzConn(f *testing.F) {
	f.Add([]byte(cGet+"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"), uint16(20), uint16(40))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"), uint16(50), uint16(60))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\nPRI"), uint16(3), uint16(9))
	f.Add([]byte("GET /stream HTTP/1.0\r\n\r\nHEAD /big HTTP/1.1\r\nHost: h\r\n\r\n"), uint16(9), uint16(30))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, cut1, cut2 uint16) {
		k := newConnKit(t, Config{MaxBody: 64, Limits: Limits{MaxHeadBytes: 256}})
		a := int(cut1) % (len(data) + 1)
		b := a + int(cut2)%(len(data)-a+1)
		for _, piece := range [][]byte{data[:a], data[a:b], data[b:]} {
			k.in = append(k.in, piece...)
			for {
				used, ev := k.c.Feed(k.in)
				if used < 0 || used > len(k.in) {
					t.Fatalf("used %d of %d", used, len(k.in))
				}
				k.events = append(k.events, ev)
				if ev == EventHead {
					k.head = string(k.c.Head().Method) + " " + string(k.c.Head().Path)
				}
				if ev == EventRequest {
					k.answer()
					if k.c.Serving() {
						t.Fatal("still serving after EndResponse")
					}
				}
				k.in = k.in[:copy(k.in, k.in[used:])]
				k.take()
				if ev == EventNone || ev == EventUpgrade || ev == EventError || k.c.Closed() {
					if ev == EventNone && len(k.in) > 0 && k.c.Need() <= len(k.in) {
						t.Fatalf("%d bytes left, need %d", len(k.in), k.c.Need())
					}
					break
				}
			}
			if k.c.Closed() || k.c.Draining() || k.events != nil && k.events[len(k.events)-1] == EventUpgrade {
				break
			}
		}
		if n := strings.Count(string(k.out), "HTTP/1.1 200 OK\r\n"); n != len(k.served) {
			t.Fatalf("%d requests served, %d answers", len(k.served), n)
		}
		k.c.Close()
		if k.c.HoldsBuffers() {
			t.Fatal("buffers held after Close")
		}
	})
}
