package client

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/h2loop/h2loop/codec"
)

// pushRec records Handler and PushHandler events as strings.
type pushRec struct{ ev []string }

func (h *pushRec) Response(tok int32, status int) {
	h.ev = append(h.ev, fmt.Sprintf("response %d %d", tok, status))
}
func (h *pushRec) Closed(tok int32, r Result, code codec.ErrCode) {
	h.ev = append(h.ev, fmt.Sprintf("closed %d %v %v", tok, r, code))
}
func (h *pushRec) PushPromise(parent int32, id uint32, m, s, a, p []byte) {
	h.ev = append(h.ev, fmt.Sprintf("promise %d %d %s %s %s %s", parent, id, m, s, a, p))
}
func (h *pushRec) PushRefused(id uint32, err *codec.StreamError) {
	h.ev = append(h.ev, fmt.Sprintf("refused %d %s", id, err.Reason))
}
func (h *pushRec) PushData(id uint32, p []byte) {
	h.ev = append(h.ev, fmt.Sprintf("push data %d %d", id, len(p)))
}
func (h *pushRec) PushResponse(id uint32, status int) {
	h.ev = append(h.ev, fmt.Sprintf("push response %d %d", id, status))
}
func (h *pushRec) PushClosed(id uint32, r Result, code codec.ErrCode) {
	h.ev = append(h.ev, fmt.Sprintf("push closed %d %v %v", id, r, code))
}

// pushPeer is the server side of a push test: one HPACK encoder for every
// block, as a real server has.
type pushPeer struct {
	buf bytes.Buffer
	enc *hpack.Encoder
}

func newPushPeer() *pushPeer {
	p := &pushPeer{}
	p.enc = hpack.NewEncoder(&p.buf)
	return p
}

// block encodes name/value pairs.
func (p *pushPeer) block(kv ...string) []byte {
	p.buf.Reset()
	for i := 0; i < len(kv); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), p.buf.Bytes()...)
}

// promise is the field block of a valid promise for path.
func (p *pushPeer) promise(path string) []byte {
	return p.block(":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", path)
}

// newPushConn returns a push-enabled connection with the preface written
// and request token 7 open on stream 1.
func newPushConn(t *testing.T, streams int) (*H2Conn, *pushRec) {
	t.Helper()
	h := &pushRec{}
	cfg := DefaultH2Config()
	cfg.EnablePush = true
	cfg.MaxConcurrentStreams = streams
	cfg.StreamWindowBits = 14
	c := NewH2Conn(cfg, testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	if err := c.Submit(0, 7); err != nil {
		t.Fatal(err)
	}
	c.Wrote(len(c.Output()))
	return c, h
}

func feedAll(t *testing.T, c *H2Conn, in []byte) error {
	t.Helper()
	n, err := c.Feed(in)
	if err == nil && n != len(in) {
		t.Fatalf("Feed consumed %d of %d", n, len(in))
	}
	return err
}

func TestH2PushPreface(t *testing.T) {
	cfg := DefaultH2Config()
	cfg.EnablePush = true
	cfg.MaxConcurrentStreams = 8
	c := NewH2Conn(cfg, testSet(nil), &pushRec{})
	c.Start()
	want := codec.AppendSettings([]byte(codec.ClientPreface), codec.Setting{ID: codec.SettingEnablePush, Value: 1},
		codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1<<30 - 1},
		codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 8})
	want = codec.AppendWindowUpdate(want, 0, 1<<30-1-65535)
	if !bytes.Equal(c.Output(), want) {
		t.Fatalf("preface\n got %x\nwant %x", c.Output(), want)
	}
}

// TestH2PushAccepted: a promise split over PUSH_PROMISE and CONTINUATION,
// the response, then the pushed response with a body larger than half the
// stream window and trailers. The pushed stream is reported to the
// PushHandler only, its DATA is counted apart and acknowledged with
// WINDOW_UPDATEs on the pushed stream.
func TestH2PushAccepted(t *testing.T) {
	c, h := newPushConn(t, 4)
	p := newPushPeer()
	blk := p.promise("/bytes/1000")
	in := codec.AppendPushPromise(nil, 1, 2, false, blk[:3])
	in = codec.AppendContinuation(in, 1, true, blk[3:])
	in = response(in, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	in = codec.AppendHeaders(in, 2, false, true, p.block(":status", "200", "content-type", "text/plain"))
	body := bytes.Repeat([]byte("a"), 10000)
	in = codec.AppendData(in, 2, false, body)
	in = codec.AppendHeaders(in, 2, true, true, p.block("x-trailer", "t"))
	if err := feedAll(t, c, in); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"promise 7 2 GET http example.com /bytes/1000",
		"response 7 200", "closed 7 ok NO_ERROR",
		"push response 2 200", "push data 2 10000", "push closed 2 ok NO_ERROR",
	}
	if fmt.Sprint(h.ev) != fmt.Sprint(want) {
		t.Fatalf("events\n got %q\nwant %q", h.ev, want)
	}
	if c.PushesReceived != 1 || c.PushesRefused != 0 || c.BytesPushed != 10000 || c.BytesBody != 5 {
		t.Fatalf("counters: pushes %d refused %d pushed bytes %d body %d",
			c.PushesReceived, c.PushesRefused, c.BytesPushed, c.BytesBody)
	}
	if c.Pushes() != 0 || c.Active() != 0 {
		t.Fatalf("pushes %d active %d after the end", c.Pushes(), c.Active())
	}
	// the pushed stream's window (16383) was more than half used: updated
	var update bool
	for _, f := range parseFrames(t, c.Output()) {
		if f.Type == codec.FrameWindowUpdate && f.StreamID == 2 {
			update = true
		}
		if f.Type == codec.FrameRSTStream || f.Type == codec.FrameGoAway {
			t.Fatalf("unexpected %v", f)
		}
	}
	if !update {
		t.Fatalf("no WINDOW_UPDATE on the pushed stream in %v", parseFrames(t, c.Output()))
	}
}

// TestH2PushConnErrors: each promise the RFC makes a connection error ends
// the connection with GOAWAY and its code, as a named error.
func TestH2PushConnErrors(t *testing.T) {
	p := newPushPeer()
	ok := p.promise("/a")
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"promise on a stream never opened", codec.AppendPushPromise(nil, 3, 2, true, ok), ErrPushUnopenedStream},
		{"promise on an even stream", codec.AppendPushPromise(nil, 2, 4, true, ok), ErrPushUnopenedStream},
		{"odd promised id", codec.AppendPushPromise(nil, 1, 3, true, ok), ErrPushPromisedID},
		{"promised id 0", codec.AppendPushPromise(nil, 1, 0, true, ok), ErrPushPromisedID},
		{"reused promised id", codec.AppendPushPromise(codec.AppendPushPromise(nil, 1, 2, true, ok), 1, 2, true, []byte{0xbe}), ErrPushPromisedID},
		{"lower promised id", codec.AppendPushPromise(codec.AppendPushPromise(nil, 1, 4, true, ok), 1, 2, true, []byte{0xbe}), ErrPushPromisedID},
		{"HEADERS on an even id never promised", codec.AppendHeaders(codec.AppendPushPromise(nil, 1, 2, true, ok), 4, true, true, []byte{0x88}), ErrUnopenedStream},
		{"DATA on an even id never promised", codec.AppendData(nil, 2, true, []byte("x")), ErrUnopenedStream},
		{"frame between PUSH_PROMISE and CONTINUATION", codec.AppendPing(codec.AppendPushPromise(nil, 1, 2, false, ok[:2]), false, [8]byte{}), errExpectedContinuation},
		{"undecodable promise block", codec.AppendPushPromise(nil, 1, 2, true, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, h := newPushConn(t, 4)
			err := feedAll(t, c, tc.in)
			var ce *codec.ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("Feed error %v, want a connection error", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Feed error %v, want %v", err, tc.want)
			}
			if tc.want == nil && ce.Code != codec.ErrCodeCompression {
				t.Fatalf("Feed error %v, want COMPRESSION_ERROR", err)
			}
			fs := parseFrames(t, c.Output())
			last := c.Output()[len(c.Output())-int(fs[len(fs)-1].Length)-9:]
			g, gerr := codec.ParseGoAway(fs[len(fs)-1], last[9:])
			if fs[len(fs)-1].Type != codec.FrameGoAway || gerr != nil || g.Code != ce.Code {
				t.Fatalf("last frame %v (%v), want GOAWAY %v", fs[len(fs)-1], gerr, ce.Code)
			}
			c.Fail(ResultConnError)
			closed := 0
			for _, e := range h.ev {
				if e == "closed 7 connection error NO_ERROR" {
					closed++
				}
			}
			if closed != 1 || c.Pushes() != 0 {
				t.Fatalf("events %q, %d pushes held", h.ev, c.Pushes())
			}
		})
	}
}

// TestH2PushStreamErrors: promises the client refuses with RST_STREAM on
// the promised stream; the connection lives on, and what the server sends
// on the refused stream afterwards is ignored.
func TestH2PushStreamErrors(t *testing.T) {
	cases := []struct {
		name   string
		fields []string
		want   *codec.StreamError
	}{
		{"POST", []string{":method", "POST", ":scheme", "http", ":authority", "example.com", ":path", "/a"}, ErrPushUnsafeMethod},
		{"DELETE", []string{":method", "DELETE", ":scheme", "http", ":authority", "example.com", ":path", "/a"}, ErrPushUnsafeMethod},
		{"no :path", []string{":method", "GET", ":scheme", "http", ":authority", "example.com"}, ErrPushMalformed},
		{"no :authority", []string{":method", "GET", ":scheme", "http", ":path", "/a"}, ErrPushMalformed},
		{"two :method", []string{":method", "GET", ":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", "/a"}, ErrPushMalformed},
		{":status", []string{":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", "/a", ":status", "200"}, ErrPushMalformed},
		{"pseudo after regular", []string{":method", "GET", ":scheme", "http", "accept", "*/*", ":authority", "example.com", ":path", "/a"}, ErrPushMalformed},
		{"empty :path", []string{":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", ""}, ErrPushMalformed},
		{"other authority", []string{":method", "GET", ":scheme", "http", ":authority", "evil.example", ":path", "/a"}, ErrPushAuthority},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, h := newPushConn(t, 4)
			p := newPushPeer()
			in := codec.AppendPushPromise(nil, 1, 2, true, p.block(tc.fields...))
			if err := feedAll(t, c, in); err != nil {
				t.Fatal(err)
			}
			want := codec.AppendRSTStream(nil, 2, tc.want.Code)
			if !bytes.Equal(c.Output(), want) {
				t.Fatalf("output %x, want RST_STREAM(2, %v)", c.Output(), tc.want.Code)
			}
			c.Wrote(len(c.Output()))
			// the server's frames in flight on the refused stream are ignored
			in = codec.AppendHeaders(nil, 2, false, true, p.block(":status", "200"))
			in = codec.AppendData(in, 2, true, []byte("late"))
			in = response(in, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
			if err := feedAll(t, c, in); err != nil {
				t.Fatal(err)
			}
			wantEv := []string{"refused 2 " + tc.want.Reason, "response 7 200", "closed 7 ok NO_ERROR"}
			if fmt.Sprint(h.ev) != fmt.Sprint(wantEv) {
				t.Fatalf("events\n got %q\nwant %q", h.ev, wantEv)
			}
			if c.PushesRefused != 1 || c.PushesReceived != 0 || c.Pushes() != 0 {
				t.Fatalf("refused %d received %d held %d", c.PushesRefused, c.PushesReceived, c.Pushes())
			}
		})
	}
}

// TestH2PushLimit: the client advertises SETTINGS_MAX_CONCURRENT_STREAMS =
// MaxConcurrentStreams; a promise beyond it is refused with REFUSED_STREAM,
// and a slot freed by a finished push is available again.
func TestH2PushLimit(t *testing.T) {
	c, h := newPushConn(t, 2)
	p := newPushPeer()
	in := codec.AppendPushPromise(nil, 1, 2, true, p.promise("/a"))
	in = codec.AppendPushPromise(in, 1, 4, true, p.promise("/b"))
	in = codec.AppendPushPromise(in, 1, 6, true, p.promise("/c"))
	if err := feedAll(t, c, in); err != nil {
		t.Fatal(err)
	}
	if want := codec.AppendRSTStream(nil, 6, codec.ErrCodeRefusedStream); !bytes.Equal(c.Output(), want) {
		t.Fatalf("output %x, want RST_STREAM(6, REFUSED_STREAM)", c.Output())
	}
	c.Wrote(len(c.Output()))
	in = codec.AppendHeaders(nil, 2, true, true, p.block(":status", "204"))
	in = codec.AppendPushPromise(in, 1, 8, true, p.promise("/d"))
	if err := feedAll(t, c, in); err != nil {
		t.Fatal(err)
	}
	if len(c.Output()) != 0 || c.Pushes() != 2 || c.PushesReceived != 3 || c.PushesRefused != 1 {
		t.Fatalf("output %x held %d received %d refused %d", c.Output(), c.Pushes(), c.PushesReceived, c.PushesRefused)
	}
	// pushes do not take the client's own request slots
	if c.CanSubmit() != 1 {
		t.Fatalf("CanSubmit %d, want 1", c.CanSubmit())
	}
	// the connection fails: every pushed stream is closed once
	c.Fail(ResultConnError)
	if c.Pushes() != 0 {
		t.Fatalf("%d pushes held after Fail", c.Pushes())
	}
	n := 0
	for _, e := range h.ev {
		if e == "push closed 4 connection error NO_ERROR" || e == "push closed 8 connection error NO_ERROR" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("events %q", h.ev)
	}
}

// TestH2PushOnClosedStream: a promise that arrives after the client's
// stream ended (in flight) is cancelled, not a connection error.
func TestH2PushOnClosedStream(t *testing.T) {
	c, h := newPushConn(t, 4)
	p := newPushPeer()
	in := response(nil, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	in = codec.AppendPushPromise(in, 1, 2, true, p.promise("/a"))
	if err := feedAll(t, c, in); err != nil {
		t.Fatal(err)
	}
	if want := codec.AppendRSTStream(nil, 2, codec.ErrCodeCancel); !bytes.Equal(c.Output(), want) {
		t.Fatalf("output %x, want RST_STREAM(2, CANCEL)", c.Output())
	}
	if h.ev[len(h.ev)-1] != "refused 2 "+ErrPushCanceled.Reason {
		t.Fatalf("events %q", h.ev)
	}
}

// TestH2PushGoAway: GOAWAY refuses the client's streams above its last id
// but leaves pushed streams to finish; a malformed pushed response is
// reset like a response.
func TestH2PushGoAway(t *testing.T) {
	c, h := newPushConn(t, 4)
	p := newPushPeer()
	in := codec.AppendPushPromise(nil, 1, 2, true, p.promise("/a"))
	in = codec.AppendPushPromise(in, 1, 4, true, p.promise("/b"))
	in = codec.AppendGoAway(in, 0, codec.ErrCodeNo, nil)
	in = codec.AppendHeaders(in, 2, true, true, p.block(":status", "200"))
	in = codec.AppendData(in, 4, true, []byte("DATA before HEADERS"))
	if err := feedAll(t, c, in); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"promise 7 2 GET http example.com /a", "promise 7 4 GET http example.com /b",
		"closed 7 refused NO_ERROR",
		"push response 2 200", "push closed 2 ok NO_ERROR",
		"push closed 4 malformed response PROTOCOL_ERROR",
	}
	if fmt.Sprint(h.ev) != fmt.Sprint(want) {
		t.Fatalf("events\n got %q\nwant %q", h.ev, want)
	}
	if want := codec.AppendRSTStream(nil, 4, codec.ErrCodeProtocol); !bytes.Equal(c.Output(), want) {
		t.Fatalf("output %x, want RST_STREAM(4, PROTOCOL_ERROR)", c.Output())
	}
}

// pushCycle runs one request whose response comes with a push.
func pushCycle(c *H2Conn, p *pushPeer, id *uint32, blk, hdr []byte, in *[]byte) {
	c.Submit(0, 0)
	c.Wrote(len(c.Output()))
	b := codec.AppendPushPromise((*in)[:0], *id, *id+1, true, blk)
	b = codec.AppendHeaders(b, *id, false, true, hdr)
	b = codec.AppendData(b, *id, true, []byte("hello"))
	b = codec.AppendHeaders(b, *id+1, false, true, hdr)
	b = codec.AppendData(b, *id+1, true, []byte("pushed"))
	*in = b
	*id += 2
	c.Feed(b)
	c.Wrote(len(c.Output()))
}

// TestH2PushCycleAllocs: accepting a promise (its fields decoded from the
// dynamic table) and receiving the pushed response allocate nothing in the
// steady state either.
func TestH2PushCycleAllocs(t *testing.T) {
	h := &nopPushHandler{}
	cfg := DefaultH2Config()
	cfg.EnablePush = true
	c := NewH2Conn(cfg, testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	p := newPushPeer()
	var in []byte
	id := uint32(1)
	blk0 := p.promise("/pushed")
	hdr0 := p.block(":status", "200")
	pushCycle(c, p, &id, blk0, hdr0, &in)
	blk := p.promise("/pushed") // all indexed now
	hdr := p.block(":status", "200")
	for i := 0; i < 10; i++ {
		pushCycle(c, p, &id, blk, hdr, &in)
	}
	allocs := testing.AllocsPerRun(500, func() { pushCycle(c, p, &id, blk, hdr, &in) })
	if allocs != 0 {
		t.Fatalf("%v allocations per push cycle", allocs)
	}
	if h.promises < 500 || h.closed < 500 || h.pushClosed < 500 || c.BytesPushed < 500*6 {
		t.Fatalf("promises %d closed %d pushes closed %d pushed bytes %d", h.promises, h.closed, h.pushClosed, c.BytesPushed)
	}
}

type nopPushHandler struct{ promises, closed, pushClosed int }

func (h *nopPushHandler) Response(int32, int)                                       {}
func (h *nopPushHandler) Closed(int32, Result, codec.ErrCode)                       { h.closed++ }
func (h *nopPushHandler) PushPromise(int32, uint32, []byte, []byte, []byte, []byte) { h.promises++ }
func (h *nopPushHandler) PushRefused(uint32, *codec.StreamError)                    {}
func (h *nopPushHandler) PushData(uint32, []byte)                                   {}
func (h *nopPushHandler) PushResponse(uint32, int)                                  {}
func (h *nopPushHandler) PushClosed(uint32, Result, codec.ErrCode)                  { h.pushClosed++ }
