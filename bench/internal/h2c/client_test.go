package h2c

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// fakeConn is a server in a net.Conn: for each request HEADERS frame written
// to it, it queues a response (HEADERS ":status: 200" + content-type, then
// one DATA frame with END_STREAM), and Read returns the queued bytes.
type fakeConn struct {
	net.Conn // nil: only Read, Write and Close are used
	in       []byte
	out      []byte
	body     []byte
	status   byte // first byte of the response block, 0x88 for 200
	settings bool // SETTINGS sent
	mute     bool // answer nothing
	acks     int  // SETTINGS ACK frames received
	pongs    int  // PING ACK frames received
	closed   bool
}

func (f *fakeConn) Write(p []byte) (int, error) {
	f.in = append(f.in, p...)
	if !f.settings {
		f.settings = true
		f.out = codec.AppendSettings(f.out, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 100})
		f.out = codec.AppendPing(f.out, false, [8]byte{1})
	}
	rest := f.in
	if bytes.HasPrefix(rest, []byte(codec.ClientPreface)) {
		rest = rest[len(codec.ClientPreface):]
	}
	for len(rest) >= codec.FrameHeaderLen {
		h := codec.ParseFrameHeader(rest)
		size := codec.FrameHeaderLen + int(h.Length)
		if len(rest) < size {
			break
		}
		switch {
		case h.Type == codec.FrameSettings && h.Flags.Has(codec.FlagAck):
			f.acks++
		case h.Type == codec.FramePing && h.Flags.Has(codec.FlagAck):
			f.pongs++
		case h.Type == codec.FrameHeaders && !f.mute:
			// ":status", then "content-type: text/plain" as a dynamic
			// table reference after the first response (index 62).
			f.out = codec.AppendHeaders(f.out, h.StreamID, false, true, []byte{f.status, 0xbe})
			f.out = codec.AppendData(f.out, h.StreamID, true, f.body)
		}
		rest = rest[size:]
	}
	f.in = f.in[:copy(f.in, rest)]
	return len(p), nil
}

func (f *fakeConn) Read(p []byte) (int, error) {
	if len(f.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.out)
	f.out = f.out[:copy(f.out, f.out[n:])]
	return n, nil
}

func (f *fakeConn) Close() error { f.closed = true; return nil }

// newFake returns a Conn over a fakeConn whose first response has already
// put "content-type: text/plain" in the HPACK table.
func newFake(t *testing.T, req Request, streams int, status byte) (*Conn, *fakeConn) {
	t.Helper()
	f := &fakeConn{body: []byte("hello, world!\n"), status: status}
	c, err := NewConn(f, req, streams)
	if err != nil {
		t.Fatal(err)
	}
	// prime: the first response inserts content-type into the table
	var first []byte
	first = append(first, f.status)
	first = append(first, 0x40|0, 12)
	first = append(first, "content-type"...)
	first = append(first, 10)
	first = append(first, "text/plain"...)
	f.out = codec.AppendHeaders(f.out, 1, false, true, first)
	f.out = codec.AppendData(f.out, 1, true, f.body)
	c.nextID = 3
	c.inflight = 1
	if err := c.readFrames(); err != nil {
		t.Fatal(err)
	}
	return c, f
}

func TestRunCountsResponses(t *testing.T) {
	c, f := newFake(t, Request{}, 16, 0x88)
	if err := c.Run(100); err != nil {
		t.Fatal(err)
	}
	if c.Responses != 101 || c.Non200 != 0 || c.BodyBytes != 101*14 {
		t.Fatalf("responses %d, non-200 %d, body bytes %d; want 101, 0, 1414", c.Responses, c.Non200, c.BodyBytes)
	}
	if c.nextID != 203 {
		t.Fatalf("next stream id %d, want 203", c.nextID)
	}
	if f.acks != 1 || f.pongs != 1 || len(f.in) != 0 {
		t.Fatalf("%d SETTINGS ACKs, %d PING ACKs, %d bytes left; want 1, 1, 0", f.acks, f.pongs, len(f.in))
	}
}

func TestRunCountsNon200(t *testing.T) {
	c, _ := newFake(t, Request{}, 4, 0x8d) // static index 13: ":status: 404"
	if err := c.Run(10); err != nil {
		t.Fatal(err)
	}
	if c.Non200 != 11 {
		t.Fatalf("non-200 %d, want 11", c.Non200)
	}
}

func TestRunAllocatesNothing(t *testing.T) {
	c, _ := newFake(t, Request{Method: "POST", Path: "/echo", Body: make([]byte, 4096)}, 16, 0x88)
	c.sendWin = 1 << 40
	if err := c.Run(64); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := c.Run(64); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Run allocates %v times per call, want 0", allocs)
	}
}

// TestEncodeRequest decodes the request blocks with x/net's HPACK decoder:
// the first block and then the next one twice, on one decoding context.
func TestEncodeRequest(t *testing.T) {
	long := "/" + strings.Repeat("p", 300)
	for _, tc := range []struct {
		req  Request
		want []string
		next []byte
	}{
		{Request{Method: "PUT", Path: long, Authority: "example.com", Body: []byte("abc")},
			[]string{":method=PUT", ":scheme=http", ":authority=example.com", ":path=" + long, "content-length=3", "user-agent=h2c-bench"},
			[]byte{0x80 | 66, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62}},
		{Request{},
			[]string{":method=GET", ":scheme=http", ":authority=localhost", ":path=/", "user-agent=h2c-bench"},
			[]byte{0x82, 0x86, 0x80 | 63, 0x84, 0x80 | 62}},
		{Request{Method: "POST", Path: "/echo", Body: make([]byte, 4096)},
			[]string{":method=POST", ":scheme=http", ":authority=localhost", ":path=/echo", "content-length=4096", "user-agent=h2c-bench"},
			[]byte{0x83, 0x86, 0x80 | 65, 0x80 | 64, 0x80 | 63, 0x80 | 62}},
	} {
		first, next := EncodeRequest(tc.req)
		if !bytes.Equal(next, tc.next) {
			t.Errorf("%+v: next block % x, want % x", tc.req.Path, next, tc.next)
		}
		dec := hpack.NewDecoder(4096, nil)
		for i, block := range [][]byte{first, next, next} {
			fields, err := dec.DecodeFull(block)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fields {
				got = append(got, f.Name+"="+f.Value)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("block %d decoded\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		}
	}
}

func TestStatusIs200(t *testing.T) {
	for _, tc := range []struct {
		block []byte
		want  bool
	}{
		{[]byte{0x88}, true},
		{[]byte{0x20, 0x88}, true},             // size update to 0
		{[]byte{0x3f, 0xe1, 0x1f, 0x88}, true}, // size update to 4096
		{[]byte{0x89}, false},                  // 204
		{[]byte{0x3f, 0xe1}, false},
		{[]byte{0x3f}, false},
		{nil, false},
	} {
		if got := statusIs200(tc.block); got != tc.want {
			t.Errorf("statusIs200(% x) = %v, want %v", tc.block, got, tc.want)
		}
	}
}

func TestRunErrorsOnEOF(t *testing.T) {
	f := &fakeConn{status: 0x88}
	c, err := NewConn(f, Request{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	f.out, f.mute = nil, true
	if err := c.Run(1); err != io.ErrUnexpectedEOF {
		t.Fatalf("Run on a closed connection: %v, want io.ErrUnexpectedEOF", err)
	}
}
