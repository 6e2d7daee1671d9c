package loop

import (
	"net"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
)

// TestH2KeepsRequestsWhileBusy: an HTTP/2 connection keeps a few of the
// requests its streams release for its next ones (fewer trips to the
// server's pool), every request it hands out is reset, and after a tick
// interval without a new stream (and when it closes) every request is back
// in the pool: an idle connection holds none.
func TestH2KeepsRequestsWhileBusy(t *testing.T) {
	var fromPool, toPool, resets, served int
	out := map[*engine.Request]bool{} // requests outside the pool
	var pool []*engine.Request
	core := NewCore(Options{
		Date:           func() string { return kitDate },
		InlineHandlers: true,
		Hooks: Hooks{
			Acquire: func() *engine.Request {
				fromPool++
				var r *engine.Request
				if n := len(pool); n > 0 {
					r, pool = pool[n-1], pool[:n-1]
				} else {
					r = new(engine.Request)
				}
				out[r] = true
				return r
			},
			Release: func(r *engine.Request) { t.Fatal("Release called although Reset and Put are set") },
			Reset: func(r *engine.Request) {
				resets++
				r.Reset()
			},
			Put: func(r *engine.Request) {
				toPool++
				if !out[r] {
					t.Fatal("a request put back twice")
				}
				delete(out, r)
				pool = append(pool, r)
			},
			Serve: func(r *engine.Request, tr Transport) {
				served++
				if r.Header.Path != "/" || len(r.RespBody) != 0 || r.Status != 0 {
					t.Errorf("handler got a request not reset: path %q, body %q, status %d", r.Header.Path, r.RespBody, r.Status)
				}
				r.RespBody = append(r.RespBody, "hello"...)
				tr.Finish(r)
			},
			Canceled: func(r *engine.Request) {},
		},
	})
	sink := &fakeSink{}
	h := newH2Conn(core, sink, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, false)

	in := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
	in = codec.AppendSettingsAck(in)
	enc := codec.NewHeaderEncoder()
	id := uint32(1)
	feed := func(b []byte) {
		t.Helper()
		h.beginLoop()
		used, _, done := h.input(b)
		h.endLoop()
		if used != len(b) || done {
			t.Fatalf("input used %d of %d bytes, done %v", used, len(b), done)
		}
	}
	const batches, perBatch = 5, 16
	for b := 0; b < batches; b++ {
		for i := 0; i < perBatch; i++ {
			enc.Reset()
			enc.WriteField(":method", "GET")
			enc.WriteField(":scheme", "http")
			enc.WriteField(":authority", "example.com")
			enc.WriteField(":path", "/")
			in = codec.AppendHeaders(in, id, true, true, enc.Bytes())
			id += 2
		}
		feed(in)
		in = in[:0]
		if h.eng.ActiveStreams() != 0 {
			t.Fatalf("batch %d: %d streams still open", b, h.eng.ActiveStreams())
		}
		if len(h.reqs) != len(out) {
			t.Fatalf("batch %d: no stream open, %d requests outside the pool, %d kept", b, len(out), len(h.reqs))
		}
	}
	now := time.Now()
	h.tick(now) // streams opened since the last tick: kept
	if len(h.reqs) == 0 {
		t.Fatal("the first tick after a busy interval dropped the kept requests")
	}
	h.tick(now.Add(time.Second)) // a tick interval without a new stream
	if len(h.reqs) != 0 || len(out) != 0 {
		t.Fatalf("idle for a tick interval, the connection keeps %d requests (%d outside the pool)", len(h.reqs), len(out))
	}
	if served != batches*perBatch || resets != served {
		t.Fatalf("served %d, reset %d: want %d each", served, resets, batches*perBatch)
	}
	t.Logf("%d requests served, %d taken from the pool", served, fromPool)
	if fromPool >= served {
		t.Fatalf("every request came from the pool (%d for %d): the connection kept none while busy", fromPool, served)
	}
	// Closing with requests kept gives them back too.
	for i := 0; i < perBatch; i++ {
		enc.Reset()
		enc.WriteField(":method", "GET")
		enc.WriteField(":scheme", "http")
		enc.WriteField(":authority", "example.com")
		enc.WriteField(":path", "/")
		in = codec.AppendHeaders(in, id, true, true, enc.Bytes())
		id += 2
	}
	feed(in)
	if len(h.reqs) == 0 {
		t.Fatal("nothing kept after a batch")
	}
	h.onClosed()
	if len(h.reqs) != 0 || len(out) != 0 {
		t.Fatalf("after close the connection keeps %d requests (%d outside the pool)", len(h.reqs), len(out))
	}
	if fromPool != toPool {
		t.Fatalf("%d requests from the pool, %d back", fromPool, toPool)
	}
}
