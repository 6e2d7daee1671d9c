package loop

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
	"golang.org/x/net/http2/hpack"
)

// flushKit is one HTTP/2 connection over a fakeSink whose handlers run on
// the worker pool: each writes body, calls Flush, reports its result on
// flushed, and returns when release is closed.
type flushKit struct {
	t        *testing.T
	sink     *fakeSink
	h        *h2conn
	body     []byte
	flushed  chan error
	release  chan struct{}
	finished sync.WaitGroup
}

func newFlushKit(t *testing.T, body []byte, settings ...codec.Setting) *flushKit {
	k := &flushKit{t: t, sink: &fakeSink{}, body: body, flushed: make(chan error, 64), release: make(chan struct{})}
	core := NewCore(Options{
		Date: func() string { return kitDate },
		Hooks: Hooks{
			Acquire: func() *engine.Request {
				r := new(engine.Request)
				r.Reset()
				return r
			},
			Release:  func(r *engine.Request) {},
			Canceled: func(r *engine.Request) {},
			Serve: func(r *engine.Request, tr Transport) {
				defer k.finished.Done()
				r.RespBody = append(r.RespBody, k.body...)
				k.flushed <- tr.Flush(r)
				<-k.release
				tr.Finish(r)
			},
		},
	})
	t.Cleanup(core.Close)
	k.h = newH2Conn(core, k.sink, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, false)
	start := append([]byte(codec.ClientPreface), codec.AppendSettings(nil, settings...)...)
	k.feed(codec.AppendSettingsAck(start))
	return k
}

// feed is one input pass of the reading goroutine, ended by its flush.
func (k *flushKit) feed(b []byte) {
	k.h.beginLoop()
	k.input(b)
	k.h.endLoop()
}

// input feeds b inside an input pass begun by the caller.
func (k *flushKit) input(b []byte) {
	if used, _, done := k.h.input(b); used != len(b) || done {
		k.t.Fatalf("input: used %d of %d, done %v", used, len(b), done)
	}
}

// gets is one HEADERS frame with END_STREAM (a GET) on each stream id.
func (k *flushKit) gets(ids ...uint32) []byte {
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	var b []byte
	for _, id := range ids {
		hb.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/"}, {Name: ":authority", Value: "example.com"}} {
			enc.WriteField(f)
		}
		k.finished.Add(1)
		b = codec.AppendHeaders(b, id, true, true, hb.Bytes())
	}
	return b
}

// writes returns the sink's write count and output.
func (k *flushKit) writes() (int, []byte) {
	k.h.mu.Lock()
	defer k.h.mu.Unlock()
	return k.sink.writes, bytes.Clone(k.sink.out)
}

// waitFlushed waits for n Flush calls to return nil.
func (k *flushKit) waitFlushed(n int) {
	k.t.Helper()
	for range n {
		select {
		case err := <-k.flushed:
			if err != nil {
				k.t.Fatalf("Flush: %v", err)
			}
		case <-time.After(20 * time.Second):
			k.t.Fatal("a handler's Flush did not return")
		}
	}
}

// frames counts the frames of type ft in out, per stream, and those with
// END_STREAM.
func frames(t *testing.T, out []byte, ft codec.FrameType) (perStream map[uint32]int, ends int) {
	perStream = map[uint32]int{}
	for len(out) > 0 {
		if len(out) < codec.FrameHeaderLen {
			t.Fatalf("truncated frame header: % x", out)
		}
		fh := codec.ParseFrameHeader(out)
		n := codec.FrameHeaderLen + int(fh.Length)
		if len(out) < n {
			t.Fatalf("truncated %v frame", fh.Type)
		}
		if fh.Type == ft {
			perStream[fh.StreamID]++
			if fh.Flags.Has(codec.FlagEndStream) {
				ends++
			}
		}
		out = out[n:]
	}
	return perStream, ends
}

// Handlers that flush while the reading goroutine is in an input pass
// leave their frames in the connection's output; the pass ends with one
// write holding all of them (gRPC's handler transport flushes after every
// message: one write per response cost 18 % of its CPU).
func TestFlushesOfOneWakeUpShareOneWrite(t *testing.T) {
	const n = 8
	k := newFlushKit(t, []byte("0123456789abcdef"))
	w0, out0 := k.writes()
	ids := make([]uint32, n)
	for i := range ids {
		ids[i] = uint32(2*i + 1)
	}
	k.h.beginLoop()
	k.input(k.gets(ids...))
	k.waitFlushed(n) // every handler's Flush returned, none wrote
	if w, _ := k.writes(); w != w0 {
		t.Fatalf("%d writes during the input pass, want none before its end", w-w0)
	}
	k.h.endLoop()
	w, out := k.writes()
	if w != w0+1 {
		t.Fatalf("the end of the input pass made %d writes, want 1", w-w0)
	}
	out = out[len(out0):]
	hs, _ := frames(t, out, codec.FrameHeaders)
	ds, _ := frames(t, out, codec.FrameData)
	for _, id := range ids {
		if hs[id] != 1 || ds[id] != 1 {
			t.Fatalf("stream %d: %d HEADERS and %d DATA frames in the write, want 1 and 1", id, hs[id], ds[id])
		}
	}
	close(k.release)
	k.finished.Wait()
	_, out = k.writes()
	if _, ends := frames(t, out[len(out0):], codec.FrameData); ends != n {
		t.Fatalf("%d streams ended, want %d", ends, n)
	}
}

// A Flush made while nobody else is about to write writes before it
// returns: the handler may go on to block for a long time.
func TestFlushWritesPromptly(t *testing.T) {
	k := newFlushKit(t, []byte("streamed"))
	w0, out0 := k.writes()
	k.feed(k.gets(1))
	k.waitFlushed(1)
	w, out := k.writes()
	if w == w0 {
		t.Fatal("Flush returned with the data still unwritten")
	}
	if ds, _ := frames(t, out[len(out0):], codec.FrameData); ds[1] != 1 {
		t.Fatalf("%d DATA frames on stream 1 written by Flush, want 1", ds[1])
	}
	close(k.release)
	k.finished.Wait()
}

// A Flush whose data the stream window does not allow waits for the
// window to open, and returns once the data is framed.
func TestFlushWaitsForTheWindow(t *testing.T) {
	k := newFlushKit(t, bytes.Repeat([]byte{'w'}, 100), codec.Setting{ID: codec.SettingInitialWindowSize, Value: 10})
	_, out0 := k.writes()
	k.feed(k.gets(1))
	// The first 10 bytes go out; Flush cannot return while 90 wait.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out := k.writes()
		if ds, _ := frames(t, out[len(out0):], codec.FrameData); ds[1] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first DATA frame was not written")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-k.flushed:
		t.Fatalf("Flush returned (%v) with 90 bytes blocked by the stream window", err)
	default:
	}
	k.feed(codec.AppendWindowUpdate(nil, 1, 90))
	k.waitFlushed(1)
	_, out := k.writes()
	if ds, _ := frames(t, out[len(out0):], codec.FrameData); ds[1] != 2 {
		t.Fatalf("%d DATA frames on stream 1, want 2", ds[1])
	}
	close(k.release)
	k.finished.Wait()
}
