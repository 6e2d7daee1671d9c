package client

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"

	"github.com/h2loop/h2loop/codec"
)

// event is one Handler call, recorded by recHandler.
type event struct {
	token  int32
	status int  // Response
	closed bool // Closed
	res    Result
	code   codec.ErrCode
}

type recHandler struct{ ev []event }

func (h *recHandler) Response(tok int32, status int) {
	h.ev = append(h.ev, event{token: tok, status: status})
}

func (h *recHandler) Closed(tok int32, r Result, code codec.ErrCode) {
	h.ev = append(h.ev, event{token: tok, closed: true, res: r, code: code})
}

// nopHandler counts events without allocating.
type nopHandler struct{ responses, closed, ok int }

func (h *nopHandler) Response(int32, int) { h.responses++ }
func (h *nopHandler) Closed(_ int32, r Result, _ codec.ErrCode) {
	h.closed++
	if r == ResultOK {
		h.ok++
	}
}

func testSet(body []byte) *RequestSet {
	return NewRequestSet([]Request{{Scheme: "http", Authority: "example.com", Path: "/",
		Header: []Field{{Name: "user-agent", Value: "h2bench"}}, Body: body}})
}

// serverFrames parses the client's output into frames (for assertions).
func parseFrames(t *testing.T, p []byte) []codec.FrameHeader {
	t.Helper()
	var hs []codec.FrameHeader
	if bytes.HasPrefix(p, []byte(codec.ClientPreface)) {
		p = p[len(codec.ClientPreface):]
	}
	for len(p) > 0 {
		if len(p) < 9 {
			t.Fatalf("truncated frame header")
		}
		h := codec.ParseFrameHeader(p)
		if len(p) < 9+int(h.Length) {
			t.Fatalf("truncated frame %v", h)
		}
		hs = append(hs, h)
		p = p[9+h.Length:]
	}
	return hs
}

func TestH2StartPreface(t *testing.T) {
	c := NewH2Conn(DefaultH2Config(), testSet(nil), &recHandler{})
	c.Start()
	out := c.Output()
	if !bytes.HasPrefix(out, []byte(codec.ClientPreface)) {
		t.Fatalf("no preface")
	}
	rest := out[len(codec.ClientPreface):]
	// SETTINGS: ENABLE_PUSH=0, INITIAL_WINDOW_SIZE=2^30-1; WINDOW_UPDATE 2^30-1-65535
	want := codec.AppendSettings(nil, codec.Setting{ID: codec.SettingEnablePush, Value: 0},
		codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1<<30 - 1})
	want = codec.AppendWindowUpdate(want, 0, 1<<30-1-65535)
	if !bytes.Equal(rest, want) {
		t.Fatalf("preface frames\n got %x\nwant %x", rest, want)
	}
}

// response builds a server response on stream id: HEADERS (:status 200 and
// a Huffman-coded literal date, never indexed) and DATA "hello" END_STREAM.
func response(dst []byte, id uint32, date string) []byte {
	var blk [64]byte
	b := append(blk[:0], 0x88)            // :status 200 (static 8)
	b = append(b, 0x0f, 0x12)             // literal without indexing, name index 33 (date)
	hl := hpack.HuffmanEncodeLength(date) // Huffman string
	b = append(b, 0x80|byte(hl))
	b = hpack.AppendHuffmanString(b, date)
	dst = codec.AppendHeaders(dst, id, false, true, b)
	return codec.AppendData(dst, id, true, []byte("hello"))
}

func TestH2RequestResponse(t *testing.T) {
	h := &recHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	if err := c.Submit(0, 7); err != nil {
		t.Fatal(err)
	}
	fs := parseFrames(t, c.Output())
	if len(fs) != 1 || fs[0].Type != codec.FrameHeaders || fs[0].StreamID != 1 ||
		fs[0].Flags != codec.FlagEndStream|codec.FlagEndHeaders {
		t.Fatalf("request frames %+v", fs)
	}
	c.Wrote(len(c.Output()))
	in := codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 100})
	in = response(in, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	n, err := c.Feed(in)
	if err != nil || n != len(in) {
		t.Fatalf("Feed = %d, %v; want %d", n, err, len(in))
	}
	want := []event{{token: 7, status: 200}, {token: 7, closed: true, res: ResultOK}}
	if len(h.ev) != 2 || h.ev[0] != want[0] || h.ev[1] != want[1] {
		t.Fatalf("events %+v, want %+v", h.ev, want)
	}
	// SETTINGS ACK must be the reply
	if got := c.Output(); !bytes.Equal(got, codec.AppendSettingsAck(nil)) {
		t.Fatalf("reply %x", got)
	}
	if c.BytesBody != 5 || c.BytesHeadDecomp != uint64(len(":status200")+len("date")+29) {
		t.Fatalf("traffic body=%d decomp=%d", c.BytesBody, c.BytesHeadDecomp)
	}
}

func TestH2PingGoAwayRefused(t *testing.T) {
	h := &recHandler{}
	cfg := DefaultH2Config()
	cfg.MaxConcurrentStreams = 4
	c := NewH2Conn(cfg, testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	for i := int32(0); i < 3; i++ {
		if err := c.Submit(0, i); err != nil {
			t.Fatal(err)
		}
	}
	c.Wrote(len(c.Output()))
	in := codec.AppendPing(nil, false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	in = codec.AppendGoAway(in, 3, codec.ErrCodeNo, nil) // streams 1 and 3 will be processed, 5 not
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Output(), codec.AppendPing(nil, true, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}); !bytes.Equal(got, want) {
		t.Fatalf("ping ack %x want %x", got, want)
	}
	if len(h.ev) != 1 || h.ev[0] != (event{token: 2, closed: true, res: ResultRefused}) {
		t.Fatalf("events %+v", h.ev)
	}
	if c.CanSubmit() != 0 || !c.GoingAway() || c.Submit(0, 9) != ErrGoingAway {
		t.Fatalf("submit allowed after GOAWAY")
	}
	in = codec.AppendRSTStream(nil, 1, codec.ErrCodeCancel)
	in = response(in, 3, "x")
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	want := []event{{token: 0, closed: true, res: ResultReset, code: codec.ErrCodeCancel},
		{token: 1, status: 200}, {token: 1, closed: true, res: ResultOK}}
	if len(h.ev) != 4 || h.ev[1] != want[0] || h.ev[2] != want[1] || h.ev[3] != want[2] {
		t.Fatalf("events %+v", h.ev)
	}
	if c.Active() != 0 {
		t.Fatalf("active %d", c.Active())
	}
}

func TestH2ContinuationAndErrors(t *testing.T) {
	h := &recHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Submit(0, 1)
	c.Wrote(len(c.Output()))
	in := codec.AppendHeaders(nil, 1, false, false, []byte{0x88})
	in = codec.AppendContinuation(in, 1, true, []byte{0x0f, 0x12, 0x01, 'x'})
	in = codec.AppendData(in, 1, true, nil)
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	if len(h.ev) != 2 || h.ev[0].status != 200 || h.ev[1].res != ResultOK {
		t.Fatalf("events %+v", h.ev)
	}
	// A frame interleaved in a header block is a PROTOCOL_ERROR (§6.10).
	c.Submit(0, 2)
	c.Wrote(len(c.Output()))
	in = codec.AppendHeaders(nil, 3, false, false, []byte{0x88})
	in = codec.AppendPing(in, false, [8]byte{})
	_, err := c.Feed(in)
	ce, ok := err.(*codec.ConnError)
	if !ok || ce.Code != codec.ErrCodeProtocol {
		t.Fatalf("err %v", err)
	}
	if !bytes.HasSuffix(c.Output(), codec.AppendGoAway(nil, 0, codec.ErrCodeProtocol, nil)) {
		t.Fatalf("no GOAWAY: %x", c.Output())
	}
	c.Fail(ResultConnError)
	if last := h.ev[len(h.ev)-1]; last != (event{token: 2, closed: true, res: ResultConnError}) {
		t.Fatalf("fail event %+v", last)
	}
}

func TestH2PushPromiseRejected(t *testing.T) {
	c := NewH2Conn(DefaultH2Config(), testSet(nil), &recHandler{})
	c.Start()
	c.Submit(0, 1)
	in := codec.AppendPushPromise(nil, 1, 2, true, []byte{0x82})
	if _, err := c.Feed(in); err == nil || err.(*codec.ConnError).Code != codec.ErrCodeProtocol {
		t.Fatalf("PUSH_PROMISE accepted: %v", err)
	}
	c = NewH2Conn(DefaultH2Config(), testSet(nil), &recHandler{})
	in = codec.AppendSettings(nil, codec.Setting{ID: codec.SettingEnablePush, Value: 1})
	if _, err := c.Feed(in); err == nil {
		t.Fatal("ENABLE_PUSH=1 from server accepted")
	}
}

func TestH2BodyFlowControl(t *testing.T) {
	body := bytes.Repeat([]byte("a"), 100000)
	h := &recHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(body), h)
	c.Start()
	c.Wrote(len(c.Output()))
	c.Submit(0, 1)
	// 65535 octets may go: DATA frames of 16384 up to the window
	var sent int
	for _, f := range parseFrames(t, c.Output()) {
		if f.Type == codec.FrameData {
			sent += int(f.Length)
			if f.Flags.Has(codec.FlagEndStream) {
				t.Fatal("END_STREAM before the whole body")
			}
		}
	}
	if sent != 65535 {
		t.Fatalf("sent %d before WINDOW_UPDATE, want 65535", sent)
	}
	c.Wrote(len(c.Output()))
	in := codec.AppendWindowUpdate(nil, 0, 100000)
	in = codec.AppendWindowUpdate(in, 1, 100000)
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	sent = 0
	end := false
	for _, f := range parseFrames(t, c.Output()) {
		if f.Type == codec.FrameData {
			sent += int(f.Length)
			end = f.Flags.Has(codec.FlagEndStream)
		}
	}
	if sent != 100000-65535 || !end {
		t.Fatalf("sent %d end=%v after WINDOW_UPDATE", sent, end)
	}
}

// TestH2DataPiecewise feeds a response one byte at a time, padding included.
func TestH2DataPiecewise(t *testing.T) {
	h := &recHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Submit(0, 5)
	in := codec.AppendHeaders(nil, 1, false, true, []byte{0x88})
	in = codec.AppendDataPadded(in, 1, true, []byte("0123456789"), 7)
	var buf []byte
	for _, b := range in {
		buf = append(buf, b)
		n, err := c.Feed(buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[n:]
	}
	if c.BytesBody != 10 || len(h.ev) != 2 || h.ev[1].res != ResultOK {
		t.Fatalf("body %d events %+v", c.BytesBody, h.ev)
	}
}

// respTemplate is a response on stream 1 (see response); cycle patches the
// stream id of its two frames.
var respTemplate = response(nil, 1, "Sun, 22 Nov 2026 08:00:00 GMT")

// cycle runs one request/response exchange on c: submit, drain the output,
// feed the pre-built response for the stream.
func cycle(c *H2Conn, in *[]byte, id *uint32) {
	c.Submit(0, 0)
	c.Wrote(len(c.Output()))
	b := append((*in)[:0], respTemplate...)
	second := 9 + int(codec.ParseFrameHeader(b).Length)
	for _, off := range [2]int{0, second} {
		b[off+5], b[off+6], b[off+7], b[off+8] = byte(*id>>24), byte(*id>>16), byte(*id>>8), byte(*id)
	}
	*in = b
	*id += 2
	c.Feed(b)
	c.Wrote(len(c.Output()))
}

// TestH2CycleAllocs proves the steady-state request/response cycle (request
// encoding, frame parsing, HPACK decoding with a Huffman literal, stream
// table, windows, events) allocates nothing.
func TestH2CycleAllocs(t *testing.T) {
	h := &nopHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	in := make([]byte, 0, 256)
	id := uint32(1)
	for i := 0; i < 10; i++ {
		cycle(c, &in, &id)
	}
	allocs := testing.AllocsPerRun(1000, func() { cycle(c, &in, &id) })
	if allocs != 0 {
		t.Fatalf("allocs per request/response cycle = %v, want 0", allocs)
	}
	if h.ok != h.closed || h.closed < 1000 {
		t.Fatalf("ok=%d closed=%d", h.ok, h.closed)
	}
}

func BenchmarkH2Cycle(b *testing.B) {
	h := &nopHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	in := make([]byte, 0, 256)
	id := uint32(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if id > 1<<30 {
			b.StopTimer()
			c = NewH2Conn(DefaultH2Config(), testSet(nil), h)
			c.Start()
			c.Wrote(len(c.Output()))
			id = 1
			b.StartTimer()
		}
		cycle(c, &in, &id)
	}
}
