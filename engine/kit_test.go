package engine

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// fakeCB records what the engine asks of the server.
type fakeCB struct {
	free     []*Request
	reqs     []*Request
	released int
	wakes    int
}

func (f *fakeCB) AcquireRequest() *Request {
	if n := len(f.free); n > 0 {
		r := f.free[n-1]
		f.free = f.free[:n-1]
		return r
	}
	return new(Request)
}
func (f *fakeCB) Dispatch(r *Request) { f.reqs = append(f.reqs, r) }
func (f *fakeCB) Wake(r *Request)     { f.wakes++ }
func (f *fakeCB) ReleaseRequest(r *Request) {
	f.released++
	r.Reset()
	f.free = append(f.free, r)
}

// frame is one frame read back from the engine's output.
type frame struct {
	codec.FrameHeader
	p []byte
}

// tconn drives a Conn with raw client frames and reads back its frames.
type tconn struct {
	t      *testing.T
	c      *Conn
	cb     *fakeCB
	cfg    Config
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
	fields []hpack.HeaderField
	now    time.Time
}

func newTConn(t testing.TB, cfg Config) *tconn {
	tc := &tconn{cb: &fakeCB{}, cfg: cfg, now: time.Unix(1000, 0)}
	if tt, ok := t.(*testing.T); ok {
		tc.t = tt
	}
	tc.cfg.Normalize()
	tc.c = NewConn(&tc.cfg, tc.cb, nil, tc.now)
	tc.enc = hpack.NewEncoder(&tc.encBuf)
	tc.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { tc.fields = append(tc.fields, f) })
	return tc
}

// handshake sends the preface and an empty SETTINGS, and consumes the
// server's SETTINGS, WINDOW_UPDATE and SETTINGS ACK.
func (tc *tconn) handshake() {
	tc.feed([]byte(codec.ClientPreface))
	tc.feed(codec.AppendSettings(nil))
	f := tc.next()
	if f.Type != codec.FrameSettings || f.Flags.Has(codec.FlagAck) {
		tc.t.Fatalf("first server frame %v, want SETTINGS", f.Type)
	}
	for {
		f = tc.next()
		if f.Type == codec.FrameSettings && f.Flags.Has(codec.FlagAck) {
			break
		}
	}
	tc.feed(codec.AppendSettingsAck(nil))
	tc.noFrames()
}

func (tc *tconn) feed(b []byte) error {
	n, err := tc.c.Feed(b)
	if err == nil && n != len(b) {
		tc.t.Fatalf("Feed consumed %d of %d bytes", n, len(b))
	}
	return err
}

// next pops the next frame of output.
func (tc *tconn) next() frame {
	tc.t.Helper()
	out := tc.c.Output()
	if len(out) < codec.FrameHeaderLen {
		tc.t.Fatalf("no frame in output (%d bytes)", len(out))
	}
	h := codec.ParseFrameHeader(out)
	end := codec.FrameHeaderLen + int(h.Length)
	f := frame{h, append([]byte(nil), out[codec.FrameHeaderLen:end]...)}
	tc.c.ConsumeOutput(end)
	return f
}

func (tc *tconn) noFrames() {
	tc.t.Helper()
	if out := tc.c.Output(); len(out) > 0 {
		tc.t.Fatalf("unexpected output: %v", codec.ParseFrameHeader(out))
	}
}

func (tc *tconn) wantGoAway(code codec.ErrCode) {
	tc.t.Helper()
	for {
		f := tc.next()
		if f.Type == codec.FrameGoAway {
			ga, _ := codec.ParseGoAway(f.FrameHeader, f.p)
			if ga.Code != code {
				tc.t.Fatalf("GOAWAY %v (%s), want %v", ga.Code, ga.DebugData, code)
			}
			if !tc.c.Closed() {
				tc.t.Fatalf("connection not closed after GOAWAY")
			}
			return
		}
		if f.Type != codec.FrameWindowUpdate && f.Type != codec.FrameSettings {
			tc.t.Fatalf("got %v, want GOAWAY %v", f.Type, code)
		}
	}
}

func (tc *tconn) wantRST(id uint32, code codec.ErrCode) {
	tc.t.Helper()
	for {
		f := tc.next()
		if f.Type == codec.FrameRSTStream {
			got, _ := codec.ParseRSTStream(f.FrameHeader, f.p)
			if f.StreamID != id || got != code {
				tc.t.Fatalf("RST_STREAM(%d, %v), want RST_STREAM(%d, %v)", f.StreamID, got, id, code)
			}
			return
		}
		if f.Type != codec.FrameWindowUpdate {
			tc.t.Fatalf("got %v on stream %d, want RST_STREAM(%d, %v)", f.Type, f.StreamID, id, code)
		}
	}
}

// headerBlock encodes fields with the client's encoder.
func (tc *tconn) headerBlock(kv ...string) []byte {
	tc.encBuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		tc.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), tc.encBuf.Bytes()...)
}

func (tc *tconn) get(id uint32, path string) []byte {
	return codec.AppendHeaders(nil, id, true, true,
		tc.headerBlock(":method", "GET", ":scheme", "http", ":path", path, ":authority", "example.com"))
}

func (tc *tconn) post(id uint32, path string, extra ...string) []byte {
	kv := append([]string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "example.com"}, extra...)
	return codec.AppendHeaders(nil, id, false, true, tc.headerBlock(kv...))
}

// response reads a HEADERS frame and decodes it.
func (tc *tconn) response(id uint32) (status string, fields []hpack.HeaderField, endStream bool) {
	tc.t.Helper()
	f := tc.next()
	if f.Type != codec.FrameHeaders || f.StreamID != id {
		tc.t.Fatalf("got %v on stream %d, want HEADERS on %d", f.Type, f.StreamID, id)
	}
	tc.fields = tc.fields[:0]
	if _, err := tc.dec.Write(f.p); err != nil {
		tc.t.Fatal(err)
	}
	for _, hf := range tc.fields {
		if hf.Name == ":status" {
			status = hf.Value
		}
	}
	return status, append([]hpack.HeaderField(nil), tc.fields...), f.Flags.Has(codec.FlagEndStream)
}

// body reads DATA frames of id until END_STREAM.
func (tc *tconn) body(id uint32) []byte {
	tc.t.Helper()
	var b []byte
	for {
		f := tc.next()
		if f.Type != codec.FrameData || f.StreamID != id {
			tc.t.Fatalf("got %v on stream %d, want DATA on %d", f.Type, f.StreamID, id)
		}
		b = append(b, f.p...)
		if f.Flags.Has(codec.FlagEndStream) {
			return b
		}
	}
}

// serveAll answers every dispatched request with body.
func (tc *tconn) serveAll(body string) {
	reqs := tc.cb.reqs
	tc.cb.reqs = nil
	for _, r := range reqs {
		r.AddHeader("content-type", "text/plain")
		r.RespBody = append(r.RespBody, body...)
		tc.c.Respond(r)
	}
}

func isConnErr(err error, code codec.ErrCode) bool {
	var ce *codec.ConnError
	return errors.As(err, &ce) && ce.Code == code
}
