package engine

import (
	"bytes"
	"fmt"
	"golang.org/x/net/http2/hpack"
	"strconv"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

func TestGetResponse(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	if len(tc.cb.reqs) != 1 {
		t.Fatalf("dispatched %d requests, want 1", len(tc.cb.reqs))
	}
	r := tc.cb.reqs[0]
	if r.Header.Method != "GET" || r.Header.Path != "/" || r.Header.Authority != "example.com" || r.StreamID != 1 {
		t.Fatalf("request %+v", r.Header)
	}
	tc.serveAll("hello, world!\n")
	status, fields, end := tc.response(1)
	if status != "200" || end {
		t.Fatalf("status %q end %v", status, end)
	}
	var clen string
	for _, f := range fields {
		if f.Name == "content-length" {
			clen = f.Value
		}
	}
	if clen != "14" {
		t.Fatalf("content-length %q", clen)
	}
	if b := tc.body(1); string(b) != "hello, world!\n" {
		t.Fatalf("body %q", b)
	}
	tc.noFrames()
	if tc.cb.released != 1 || tc.c.ActiveStreams() != 0 {
		t.Fatalf("released %d, active %d", tc.cb.released, tc.c.ActiveStreams())
	}
}

func TestEmptyBodyEndsOnHeaders(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	r.Status = 204
	tc.c.Respond(r)
	status, _, end := tc.response(1)
	if status != "204" || !end {
		t.Fatalf("status %q end %v", status, end)
	}
	tc.noFrames()
}

func TestPostBodyAndContentLength(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	// Headers and body in one read pass: the handler starts once they are
	// processed and finds the body complete.
	in := tc.post(1, "/echo", "content-length", "5")
	in = codec.AppendData(in, 1, false, []byte("hel"))
	in = codec.AppendData(in, 1, true, []byte("lo"))
	tc.feed(in)
	if len(tc.cb.reqs) != 1 {
		t.Fatal("not dispatched after END_STREAM")
	}
	r := tc.cb.reqs[0]
	if r.Streaming() {
		t.Fatal("complete request dispatched as streaming")
	}
	if got := string(r.BodyBuffered()); got != "hello" || !r.BodyComplete() {
		t.Fatalf("body %q complete %v", got, r.BodyComplete())
	}
}

func TestContentLengthMismatch(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.post(1, "/", "content-length", "10"))
	tc.feed(codec.AppendData(nil, 1, true, []byte("short")))
	tc.wantRST(1, codec.ErrCodeProtocol)
}

func TestPrefaceErrors(t *testing.T) {
	tc := newTConn(t, Config{})
	if err := tc.feed([]byte("GET / HTTP/1.1\r\n")); err == nil {
		t.Fatal("bad preface accepted")
	}
	tc2 := newTConn(t, Config{})
	tc2.feed([]byte(codec.ClientPreface))
	tc2.next() // our SETTINGS
	tc2.next() // WINDOW_UPDATE
	tc2.feed(codec.AppendPing(nil, false, [8]byte{}))
	tc2.wantGoAway(codec.ErrCodeProtocol)
}

func TestStreamRules(t *testing.T) {
	cases := []struct {
		name  string
		send  func(tc *tconn) []byte
		check func(tc *tconn)
	}{
		{"even stream id", func(tc *tconn) []byte { return tc.get(2, "/") },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"DATA on idle stream", func(tc *tconn) []byte { return codec.AppendData(nil, 5, true, []byte("x")) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"RST_STREAM on idle stream", func(tc *tconn) []byte { return codec.AppendRSTStream(nil, 5, codec.ErrCodeCancel) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"WINDOW_UPDATE on idle stream", func(tc *tconn) []byte { return codec.AppendWindowUpdate(nil, 5, 10) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"CONTINUATION without HEADERS", func(tc *tconn) []byte { return codec.AppendContinuation(nil, 1, true, nil) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"PUSH_PROMISE from client", func(tc *tconn) []byte { return codec.AppendPushPromise(nil, 1, 2, true, nil) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"frame between HEADERS and CONTINUATION", func(tc *tconn) []byte {
			b := codec.AppendHeaders(nil, 1, true, false, tc.headerBlock(":method", "GET"))
			return codec.AppendPing(b, false, [8]byte{})
		}, func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"self dependency", func(tc *tconn) []byte {
			return codec.AppendPriority(nil, 3, codec.PriorityParam{StreamDep: 3, Weight: 15})
		}, func(tc *tconn) { tc.wantRST(3, codec.ErrCodeProtocol) }},
		{"uppercase header name", func(tc *tconn) []byte {
			return codec.AppendHeaders(nil, 1, true, true, tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", "X-Upper", "1"))
		}, func(tc *tconn) { tc.wantRST(1, codec.ErrCodeProtocol) }},
		{"connection header", func(tc *tconn) []byte {
			return codec.AppendHeaders(nil, 1, true, true, tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", "connection", "keep-alive"))
		}, func(tc *tconn) { tc.wantRST(1, codec.ErrCodeProtocol) }},
		{"missing :path", func(tc *tconn) []byte {
			return codec.AppendHeaders(nil, 1, true, true, tc.headerBlock(":method", "GET", ":scheme", "http"))
		}, func(tc *tconn) { tc.wantRST(1, codec.ErrCodeProtocol) }},
		{"zero window increment on stream", func(tc *tconn) []byte {
			return append(tc.post(1, "/"), codec.AppendWindowUpdate(nil, 1, 0)...)
		}, func(tc *tconn) { tc.wantRST(1, codec.ErrCodeProtocol) }},
		{"zero window increment on connection", func(tc *tconn) []byte { return codec.AppendWindowUpdate(nil, 0, 0) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
		{"connection window overflow", func(tc *tconn) []byte { return codec.AppendWindowUpdate(nil, 0, 1<<31-1) },
			func(tc *tconn) { tc.wantGoAway(codec.ErrCodeFlowControl) }},
		{"DATA after END_STREAM", func(tc *tconn) []byte {
			return append(tc.get(1, "/"), codec.AppendData(nil, 1, true, []byte("x"))...)
		}, func(tc *tconn) { tc.wantRST(1, codec.ErrCodeStreamClosed) }},
		{"frame too large", func(tc *tconn) []byte {
			return codec.AppendData(nil, 1, true, make([]byte, 16385))
		}, func(tc *tconn) { tc.wantGoAway(codec.ErrCodeFrameSize) }},
		{"bad PING length", func(tc *tconn) []byte {
			return codec.AppendFrameHeader(nil, codec.FrameHeader{Length: 0, Type: codec.FramePing})
		}, func(tc *tconn) { tc.wantGoAway(codec.ErrCodeFrameSize) }},
		{"SETTINGS_INITIAL_WINDOW_SIZE too large", func(tc *tconn) []byte {
			return codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1 << 31})
		}, func(tc *tconn) { tc.wantGoAway(codec.ErrCodeFlowControl) }},
		{"lower stream id after a higher one", func(tc *tconn) []byte {
			return append(tc.get(5, "/"), tc.get(3, "/")...)
		}, func(tc *tconn) { tc.wantGoAway(codec.ErrCodeProtocol) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := newTConn(t, Config{})
			tc.handshake()
			tc.c.Feed(c.send(tc))
			c.check(tc)
		})
	}
}

func TestUnknownFrameIgnored(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	b := codec.AppendFrameHeader(nil, codec.FrameHeader{Length: 3, Type: 0xfa, StreamID: 1})
	b = append(b, 1, 2, 3)
	tc.feed(b)
	tc.noFrames()
	tc.feed(codec.AppendPing(nil, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f := tc.next()
	if f.Type != codec.FramePing || !f.Flags.Has(codec.FlagAck) || !bytes.Equal(f.p, []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("PING answer %v %v", f.FrameHeader, f.p)
	}
}

func TestMaxConcurrentStreams(t *testing.T) {
	tc := newTConn(t, Config{MaxConcurrentStreams: 2})
	tc.handshake()
	tc.feed(tc.post(1, "/"))
	tc.feed(tc.post(3, "/"))
	tc.feed(tc.post(5, "/"))
	tc.wantRST(5, codec.ErrCodeRefusedStream)
	// The HPACK state stays in sync: a later request decodes.
	tc.feed(codec.AppendData(nil, 1, true, nil))
	tc.serveAll("ok")
	tc.response(1)
	tc.body(1)
	tc.feed(tc.get(7, "/after"))
	if r := tc.cb.reqs[len(tc.cb.reqs)-1]; r.Header.Path != "/after" {
		t.Fatalf("path %q", r.Header.Path)
	}
}

func TestFlowControlLargeResponse(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	// The client's stream window is 16 bytes; the connection's default 65535.
	tc.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 16}))
	if f := tc.next(); f.Type != codec.FrameSettings || !f.Flags.Has(codec.FlagAck) {
		t.Fatal("no SETTINGS ACK")
	}
	tc.feed(tc.get(1, "/"))
	big := bytes.Repeat([]byte("0123456789"), 10)
	tc.serveAll(string(big))
	tc.response(1)
	var got []byte
	for len(got) < len(big) {
		f := tc.next()
		if f.Type != codec.FrameData || len(f.p) > 16 {
			t.Fatalf("frame %v len %d", f.Type, len(f.p))
		}
		got = append(got, f.p...)
		tc.noFrames()
		if len(got) < len(big) {
			tc.feed(codec.AppendWindowUpdate(nil, 1, 16))
		} else if !f.Flags.Has(codec.FlagEndStream) {
			t.Fatal("no END_STREAM on the last DATA")
		}
	}
	if !bytes.Equal(got, big) {
		t.Fatal("body differs")
	}
}

func TestClientResetCancels(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	tc.feed(codec.AppendRSTStream(nil, 1, codec.ErrCodeCancel))
	if !r.Canceled || tc.cb.wakes == 0 {
		t.Fatal("request not canceled")
	}
	tc.c.Respond(r)
	tc.noFrames()
	if tc.cb.released != 1 {
		t.Fatalf("released %d", tc.cb.released)
	}
}

func TestGracefulShutdown(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	tc.c.Shutdown()
	f := tc.next()
	ga, _ := codec.ParseGoAway(f.FrameHeader, f.p)
	if f.Type != codec.FrameGoAway || ga.LastStreamID != codec.MaxStreamID {
		t.Fatalf("first GOAWAY %v last %d", f.Type, ga.LastStreamID)
	}
	ping := tc.next()
	if ping.Type != codec.FramePing {
		t.Fatalf("%v, want PING", ping.Type)
	}
	var data [8]byte
	copy(data[:], ping.p)
	tc.feed(codec.AppendPing(nil, true, data))
	f = tc.next()
	ga, _ = codec.ParseGoAway(f.FrameHeader, f.p)
	if f.Type != codec.FrameGoAway || ga.LastStreamID != 1 || ga.Code != codec.ErrCodeNo {
		t.Fatalf("final GOAWAY %v last %d", f.Type, ga.LastStreamID)
	}
	if tc.c.Closed() {
		t.Fatal("closed with a stream active")
	}
	// A stream opened after the final GOAWAY is ignored.
	tc.feed(tc.get(3, "/"))
	if len(tc.cb.reqs) != 1 {
		t.Fatal("stream after GOAWAY dispatched")
	}
	tc.serveAll("bye")
	tc.response(1)
	tc.body(1)
	if !tc.c.Closed() {
		t.Fatal("not closed after the last stream")
	}
}

// TestClientGoAway: the client's GOAWAY closes the connection once its
// last stream is answered, with no GOAWAY sent back and no error; until
// then the open stream is served.
func TestClientGoAway(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		tc := newTConn(t, Config{})
		tc.handshake()
		tc.feed(tc.get(1, "/"))
		tc.serveAll("hi")
		tc.response(1)
		tc.body(1)
		tc.c.Feed(codec.AppendGoAway(nil, 0, codec.ErrCodeNo, nil)) // its error says finished
		if !tc.c.Closed() || tc.c.Err() != nil {
			t.Fatalf("after the client's GOAWAY: Closed %v, Err %v; want closed, no error", tc.c.Closed(), tc.c.Err())
		}
		tc.noFrames()
	})
	t.Run("stream open", func(t *testing.T) {
		tc := newTConn(t, Config{})
		tc.handshake()
		tc.feed(tc.get(1, "/"))
		tc.feed(codec.AppendGoAway(nil, 0, codec.ErrCodeNo, nil))
		if tc.c.Closed() {
			t.Fatal("closed with stream 1 unanswered")
		}
		tc.serveAll("hi")
		if status, _, _ := tc.response(1); status != "200" {
			t.Fatalf("status %q", status)
		}
		if got := string(tc.body(1)); got != "hi" {
			t.Fatalf("body %q", got)
		}
		if !tc.c.Closed() || tc.c.Err() != nil {
			t.Fatalf("after the last stream: Closed %v, Err %v; want closed, no error", tc.c.Closed(), tc.c.Err())
		}
		tc.noFrames()
	})
}

func TestRapidResetFlood(t *testing.T) {
	tc := newTConn(t, Config{MaxResetsPerSecond: 10})
	tc.handshake()
	var b []byte
	for id := uint32(1); id < 200; id += 2 {
		b = append(b, tc.get(id, "/")...)
		b = append(b, codec.AppendRSTStream(nil, id, codec.ErrCodeCancel)...)
	}
	tc.c.Feed(b)
	tc.wantGoAway(codec.ErrCodeEnhanceYourCalm)
}

func TestHeaderListTooLarge(t *testing.T) {
	tc := newTConn(t, Config{MaxHeaderListSize: 1024})
	tc.handshake()
	blk := tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", "x-big", string(bytes.Repeat([]byte("a"), 2000)))
	tc.feed(codec.AppendHeaders(nil, 1, true, true, blk))
	status, _, end := tc.response(1)
	if status != "431" || !end {
		t.Fatalf("status %q end %v", status, end)
	}
}

// getFrames is a recorded GET whose header block is fully indexed (the second
// request of a connection).
func steadyState(tb testing.TB) (*tconn, []byte) {
	tc := newTConn(tb, Config{})
	tc.t = nil
	tc.c.Feed([]byte(codec.ClientPreface))
	tc.c.Feed(codec.AppendSettings(nil))
	tc.c.Feed(codec.AppendSettingsAck(nil))
	tc.c.ConsumeOutput(len(tc.c.Output()))
	kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "example.com", "user-agent", "bench"}
	var buf []byte
	serveOne(tc, 1, tc.headerBlock(kv...), &buf) // the first request indexes the fields
	return tc, tc.headerBlock(kv...)
}

// serveOne feeds a connection WINDOW_UPDATE returning the credit of the
// previous response (as clients do) and a GET, and answers it.
func serveOne(tc *tconn, id uint32, blk []byte, frameBuf *[]byte) {
	*frameBuf = codec.AppendWindowUpdate((*frameBuf)[:0], 0, 14)
	*frameBuf = codec.AppendHeaders(*frameBuf, id, true, true, blk)
	if _, err := tc.c.Feed(*frameBuf); err != nil || len(tc.cb.reqs) != 1 {
		panic(fmt.Sprintf("request %d not dispatched: %v", id, err))
	}
	r := tc.cb.reqs[0]
	tc.cb.reqs = tc.cb.reqs[:0]
	r.AddHeader("content-type", "text/plain")
	r.RespBody = append(r.RespBuffer(14), "hello, world!\n"...)
	tc.c.Respond(r)
	tc.c.ConsumeOutput(len(tc.c.Output()))
}

func TestSteadyStateAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	tc, blk := steadyState(t)
	id := uint32(3)
	var buf []byte
	for i := 0; i < 10; i++ {
		serveOne(tc, id, blk, &buf)
		id += 2
	}
	allocs := testing.AllocsPerRun(1000, func() {
		serveOne(tc, id, blk, &buf)
		id += 2
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func BenchmarkServeGET(b *testing.B) {
	tc, blk := steadyState(b)
	id := uint32(3)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		serveOne(tc, id, blk, &buf)
		id += 2
		if id > 1<<30 {
			b.StopTimer()
			tc, blk = steadyState(b)
			id = 3
			b.StartTimer()
		}
	}
}

func TestInvalidResponseFieldsDropped(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	r.AddHeader("x-ok", "yes")
	r.AddHeader("X-Upper", "no")
	r.AddHeader("x-split", "a\r\nset-cookie: evil")
	r.AddHeader("connection", "close")
	r.AddHeaderBytes("x-bytes", []byte("bad\n"))
	r.AddHeaderBytes("x-bytes-ok", []byte("fine"))
	tc.c.Respond(r)
	_, fields, _ := tc.response(1)
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	want := []string{":status", "x-ok", "x-bytes-ok", "content-length"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("fields %v, want %v", names, want)
	}
	if n := tc.c.m.BadResponseFields.Load(); n != 4 {
		t.Fatalf("BadResponseFields %d, want 4", n)
	}
}

func TestNoContentResponses(t *testing.T) {
	for _, c := range []struct {
		method   string
		status   int
		wantCLen string // "" when there must be none
	}{
		{"HEAD", 200, "5"},
		{"GET", 204, ""},
		{"GET", 304, ""},
	} {
		tc := newTConn(t, Config{})
		tc.handshake()
		tc.feed(codec.AppendHeaders(nil, 1, true, true, tc.headerBlock(":method", c.method, ":scheme", "http", ":path", "/", ":authority", "a")))
		r := tc.cb.reqs[0]
		r.Status = c.status
		r.RespBody = append(r.RespBody, "hello"...)
		tc.c.Respond(r)
		status, fields, end := tc.response(1)
		var clen string
		for _, f := range fields {
			if f.Name == "content-length" {
				clen = f.Value
			}
		}
		if status != strconv.Itoa(c.status) || !end || clen != c.wantCLen {
			t.Fatalf("%s %d: status %s end %v content-length %q", c.method, c.status, status, end, clen)
		}
		tc.noFrames()
	}
}

// poisonCB stands for the server's request pool at its worst: a released
// Request at once belongs to another connection, with its handler done and
// its response in flight. An engine that touched a Request after releasing it
// would release it a second time here.
type poisonCB struct {
	fakeCB
	released map[*Request]int
	other    *Conn
}

func (p *poisonCB) AcquireRequest() *Request { return new(Request) }

func (p *poisonCB) ReleaseRequest(r *Request) {
	p.released[r]++
	r.Reset()
	r.conn, r.life = p.other, lifeAnswered
}

func TestRequestNotTouchedAfterRelease(t *testing.T) {
	tc := newTConn(t, Config{})
	p := &poisonCB{released: map[*Request]int{}, other: new(Conn)}
	tc.cb = &p.fakeCB
	tc.c = NewConn(&tc.cfg, p, nil, tc.now)
	tc.handshake()

	// A response without content (END_STREAM on HEADERS) to a complete
	// request: the stream closes inside Respond.
	tc.feed(tc.get(1, "/missing"))
	r1 := tc.cb.reqs[0]
	tc.cb.reqs = nil
	r1.Status = 404
	tc.c.Respond(r1)
	if status, _, end := tc.response(1); status != "404" || !end {
		t.Fatalf("stream 1: %q end %v", status, end)
	}

	// The same while the request body is still arriving (a streaming
	// request): END_STREAM inside Respond; the body is then discarded
	// up to drainLimit, and beyond it RST_STREAM(NO_ERROR) asks the client
	// to stop.
	tc.feed(tc.post(3, "/upload"))
	r3 := tc.cb.reqs[0]
	tc.cb.reqs = nil
	r3.Status = 204
	tc.c.Respond(r3)
	if status, _, end := tc.response(3); status != "204" || !end {
		t.Fatalf("stream 3: %q end %v", status, end)
	}
	tc.noFrames()
	for sent := 0; sent <= drainLimit; sent += 16384 {
		tc.feed(codec.AppendData(nil, 3, false, make([]byte, 16384)))
	}
	tc.wantRST(3, codec.ErrCodeNo)

	// A response whose stream the client reset first.
	tc.feed(tc.get(5, "/"))
	r5 := tc.cb.reqs[0]
	tc.cb.reqs = nil
	tc.feed(codec.AppendRSTStream(nil, 5, codec.ErrCodeCancel))
	tc.c.Respond(r5)

	// A response the engine makes itself (413 for a declared body above
	// the limit), while the body is still arriving.
	tc.cfg.MaxRequestBodySize = 10
	before := len(p.released)
	tc.feed(tc.post(7, "/upload", "content-length", "100"))
	if status, _, end := tc.response(7); status != "413" || !end {
		t.Fatalf("stream 7: %q end %v", status, end)
	}
	tc.wantRST(7, codec.ErrCodeNo)
	if len(p.released) != before+1 {
		t.Fatalf("413: %d requests released, want 1", len(p.released)-before)
	}
	for _, n := range p.released {
		if n != 1 {
			t.Fatalf("a request released %d times", n)
		}
	}

	for _, r := range []*Request{r1, r3, r5} {
		if n := p.released[r]; n != 1 {
			t.Fatalf("request of stream %d released %d times, want 1", map[*Request]uint32{r1: 1, r3: 3, r5: 5}[r], n)
		}
	}
}

// "expect: 100-continue" on a request whose body is still to come gets an
// interim 100 (Continue) at once; the final response follows as usual. A
// body declared above the limit gets its 413 instead, and no 100.
func TestExpectContinue(t *testing.T) {
	tc := newTConn(t, Config{MaxRequestBodySize: 1000})
	tc.handshake()
	tc.feed(tc.post(1, "/upload", "content-length", "5", "expect", "100-Continue"))
	status, _, end := tc.response(1)
	if status != "100" || end {
		t.Fatalf("interim response %q end %v, want 100 without END_STREAM", status, end)
	}
	tc.noFrames()
	if len(tc.cb.reqs) != 1 || !tc.cb.reqs[0].Streaming() {
		t.Fatal("handler not started with the headers")
	}
	tc.feed(codec.AppendData(nil, 1, true, []byte("hello")))
	tc.serveAll("done")
	if status, _, _ := tc.response(1); status != "200" {
		t.Fatalf("final status %q", status)
	}
	if b := tc.body(1); string(b) != "done" {
		t.Fatalf("body %q", b)
	}

	tc.feed(tc.post(3, "/upload", "content-length", "5000", "expect", "100-continue"))
	if status, _, end := tc.response(3); status != "413" || !end {
		t.Fatalf("over the limit: %q end %v, want 413", status, end)
	}
	tc.wantRST(3, codec.ErrCodeNo) // the body is not wanted

	// Without the expectation, or with the whole request at once, no 100.
	tc.feed(tc.post(5, "/upload", "content-length", "2"))
	tc.noFrames()
	tc.cb.reqs = nil
	tc.feed(codec.AppendHeaders(nil, 7, true, true, tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x", "expect", "100-continue")))
	tc.serveAll("ok")
	if status, _, _ := tc.response(7); status != "200" {
		t.Fatalf("complete request with expect: status %q, want 200 and no 100", status)
	}
}

// Extended CONNECT (RFC 8441) only when enabled: the setting is advertised
// and the request reaches its handler as a stream; otherwise :protocol
// makes the request malformed.
func TestExtendedConnect(t *testing.T) {
	advertised := func(tc *tconn) bool {
		tc.t.Helper()
		f := tc.next()
		sf, err := codec.ParseSettings(f.FrameHeader, f.p)
		if err != nil || f.Type != codec.FrameSettings {
			tc.t.Fatalf("first frame %v: %v", f.Type, err)
		}
		for i := 0; i < sf.Len(); i++ {
			if s := sf.At(i); s.ID == codec.SettingEnableConnectProtocol {
				return s.Value == 1
			}
		}
		return false
	}
	// the rest of the connection start, the server's SETTINGS already read
	start := func(tc *tconn) {
		tc.feed([]byte(codec.ClientPreface))
		tc.feed(codec.AppendSettings(nil))
		for f := tc.next(); f.Type != codec.FrameSettings || !f.Flags.Has(codec.FlagAck); f = tc.next() {
		}
		tc.feed(codec.AppendSettingsAck(nil))
		tc.noFrames()
	}
	ws := func(tc *tconn, id uint32) []byte {
		return codec.AppendHeaders(nil, id, false, true, tc.headerBlock(":method", "CONNECT", ":protocol", "websocket",
			":scheme", "https", ":path", "/chat", ":authority", "example.com"))
	}

	tc := newTConn(t, Config{})
	if advertised(tc) {
		t.Fatal("SETTINGS_ENABLE_CONNECT_PROTOCOL advertised by default")
	}
	start(tc)
	tc.feed(ws(tc, 1))
	tc.wantRST(1, codec.ErrCodeProtocol)
	if len(tc.cb.reqs) != 0 {
		t.Fatal("dispatched without the setting")
	}

	tc = newTConn(t, Config{EnableConnectProtocol: true})
	if !advertised(tc) {
		t.Fatal("SETTINGS_ENABLE_CONNECT_PROTOCOL not advertised")
	}
	start(tc)
	tc.feed(ws(tc, 1))
	tc.noFrames()
	// The handler starts with the headers and streams both ways.
	tc.feed(codec.AppendData(nil, 1, false, []byte("frame")))
	if len(tc.cb.reqs) != 1 || tc.cb.reqs[0].Header.Protocol != "websocket" || tc.cb.reqs[0].Header.Method != "CONNECT" {
		t.Fatalf("dispatched %d, %+v", len(tc.cb.reqs), tc.cb.reqs)
	}
}

// Responses carry the date Config.Date gives, unless the handler set one
// (RFC 9110 §6.6.1); the interim 100 (Continue) does not.
func TestResponseDate(t *testing.T) {
	const date = "Sun, 06 Nov 1994 08:49:37 GMT"
	tc := newTConn(t, Config{Date: func() string { return date }})
	tc.handshake()
	dates := func(fields []hpack.HeaderField) []string {
		var d []string
		for _, f := range fields {
			if f.Name == "date" {
				d = append(d, f.Value)
			}
		}
		return d
	}
	tc.feed(tc.get(1, "/"))
	tc.serveAll("ok")
	if _, fields, _ := tc.response(1); len(dates(fields)) != 1 || dates(fields)[0] != date {
		t.Fatalf("date fields %q", dates(fields))
	}
	tc.body(1)
	// The second response indexes the date (the encoder's first block
	// indexes nothing); within the second, the third finds it: one byte,
	// not a 20-byte literal.
	tc.feed(tc.get(3, "/"))
	tc.serveAll("ok")
	if _, fields, _ := tc.response(3); len(dates(fields)) != 1 || dates(fields)[0] != date {
		t.Fatalf("second response: date fields %q", dates(fields))
	}
	tc.body(3)
	tc.feed(tc.get(5, "/"))
	tc.serveAll("ok")
	if f := tc.next(); f.Type != codec.FrameHeaders || len(f.p) > 8 {
		t.Fatalf("third response: %v of %d bytes %x, want a block of at most 8", f.Type, len(f.p), f.p)
	} else {
		tc.fields = tc.fields[:0]
		if _, err := tc.dec.Write(f.p); err != nil || len(dates(tc.fields)) != 1 || dates(tc.fields)[0] != date {
			t.Fatalf("third response: %v, dates %q", err, dates(tc.fields))
		}
	}
	tc.body(5)
	tc.feed(tc.get(9, "/"))
	r := tc.cb.reqs[0]
	tc.cb.reqs = nil
	r.AddHeader("date", "Tue, 15 Nov 1994 08:12:31 GMT")
	tc.c.Respond(r)
	if _, fields, _ := tc.response(9); len(dates(fields)) != 1 || dates(fields)[0] != "Tue, 15 Nov 1994 08:12:31 GMT" {
		t.Fatalf("handler's date: %q", dates(fields))
	}
	tc.feed(tc.post(11, "/up", "content-length", "1", "expect", "100-continue"))
	if status, fields, _ := tc.response(11); status != "100" || len(dates(fields)) != 0 {
		t.Fatalf("interim %s with dates %q", status, dates(fields))
	}
}
