package h2loop_test

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// TestPriorityOverSocket is the test through the whole server: on
// one connection a large urgency-5 response uses up the connection window;
// a small urgency-0 one started after it, once the window opens, completes
// before the large one sends anything more.
func TestPriorityOverSocket(t *testing.T) {
	addr, _ := startServer(t, nil)
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/bytes/200000", ":authority", "localhost", "priority", "u=5"))
	got := 0
	for got < 65535 {
		f := rc.mustRead()
		if f.Type == codec.FrameHeaders {
			rc.status(f) // every header block, to keep the HPACK context
		}
		if f.Type == codec.FrameData {
			if f.StreamID != 1 {
				t.Fatalf("DATA on %d", f.StreamID)
			}
			got += len(f.p)
		}
	}
	if got != 65535 {
		t.Fatalf("%d bytes before the connection window opened", got)
	}
	rc.write(rc.headers(3, true, ":method", "GET", ":scheme", "http", ":path", "/bytes/1000", ":authority", "localhost", "priority", "u=0"))
	for {
		f := rc.mustRead()
		if f.Type == codec.FrameHeaders && f.StreamID == 3 {
			if s := rc.status(f); s != "200" {
				t.Fatalf("stream 3: %s", s)
			}
			break
		}
		if f.Type == codec.FrameData {
			t.Fatalf("DATA on %d beyond the connection window", f.StreamID)
		}
	}
	// Both responses are queued; open the windows.
	b := codec.AppendWindowUpdate(nil, 1, 1<<20)
	b = codec.AppendWindowUpdate(b, 3, 1<<20)
	b = codec.AppendWindowUpdate(b, 0, 1<<20)
	rc.write(b)
	var order []uint32
	done1, done3 := false, false
	for !done1 || !done3 {
		f := rc.mustRead()
		if f.Type != codec.FrameData {
			continue
		}
		if n := len(order); n == 0 || order[n-1] != f.StreamID {
			order = append(order, f.StreamID)
		}
		if f.Flags.Has(codec.FlagEndStream) {
			done1 = done1 || f.StreamID == 1
			done3 = done3 || f.StreamID == 3
		}
	}
	if len(order) != 2 || order[0] != 3 || order[1] != 1 {
		t.Fatalf("DATA order by stream %v, want [3 1]: the urgent response whole first", order)
	}
}
