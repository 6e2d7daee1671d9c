package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// getPrio is a GET on id with extra header fields (a priority field).
func (tc *tconn) getWith(id uint32, path string, extra ...string) []byte {
	kv := append([]string{":method", "GET", ":scheme", "http", ":path", path, ":authority", "example.com"}, extra...)
	return codec.AppendHeaders(nil, id, true, true, tc.headerBlock(kv...))
}

// respond answers the dispatched request of stream id with n body bytes.
func (tc *tconn) respondN(id uint32, n int, kv ...string) {
	tc.t.Helper()
	for i, r := range tc.cb.reqs {
		if r.StreamID == id {
			for j := 0; j < len(kv); j += 2 {
				r.AddHeader(kv[j], kv[j+1])
			}
			r.RespBody = append(r.RespBody, bytes.Repeat([]byte{'x'}, n)...)
			tc.cb.reqs = append(tc.cb.reqs[:i], tc.cb.reqs[i+1:]...)
			tc.c.Respond(r)
			return
		}
	}
	tc.t.Fatalf("no request on stream %d", id)
}

// dataOrder reads every frame of output and returns the DATA frames as
// "id" or "id$" (END_STREAM), in order; HEADERS are skipped.
func (tc *tconn) dataOrder() []string {
	var order []string
	for len(tc.c.Output()) > 0 || tc.c.HasPendingData() {
		if len(tc.c.Output()) == 0 {
			tc.c.WritePending()
			continue
		}
		f := tc.next()
		if f.Type != codec.FrameData {
			continue
		}
		s := fmt.Sprint(f.StreamID)
		if f.Flags.Has(codec.FlagEndStream) {
			s += "$"
		}
		order = append(order, s)
	}
	return order
}

// squeeze collapses runs of the same entry: 1 1 1 3 3 -> 1 3.
func squeeze(order []string) string {
	var out []string
	for _, s := range order {
		k := len(s)
		if s[k-1] == '$' {
			k--
		}
		if n := len(out); n > 0 && out[n-1] == s[:k] {
			continue
		}
		out = append(out, s[:k])
	}
	return fmt.Sprint(out)
}

// TestPriorityUrgencyUnderConnWindow is the test of the issue: a large
// low-urgency response, then a small urgency-0 one, under a constrained
// connection window: once the window opens, the small one completes
// before the large one sends anything more.
func TestPriorityUrgencyUnderConnWindow(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.getWith(1, "/large", "priority", "u=5"))
	tc.respondN(1, 200000)
	if o := tc.dataOrder(); squeeze(o) != "[1]" {
		t.Fatalf("large response alone: %v", o)
	}
	// The connection window (65535) is used up: nothing more goes out.
	tc.feed(tc.getWith(3, "/small", "priority", "u=0"))
	tc.respondN(3, 1000)
	if s, _, _ := tc.response(3); s != "200" {
		t.Fatal(s)
	}
	tc.noFrames()
	// Both streams' windows are open (stream 1 is blocked on the
	// connection window only).
	tc.feed(codec.AppendWindowUpdate(nil, 3, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 1, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<20))
	o := tc.dataOrder()
	if len(o) < 2 || o[0] != "3$" || squeeze(o) != "[3 1]" {
		t.Fatalf("after the window opened: %v, want 3$ first, then 1", o)
	}
}

// TestPrioritySequentialAndIncremental: non-incremental responses of one
// urgency go one after another; incremental ones interleave frame by frame.
func TestPrioritySequentialAndIncremental(t *testing.T) {
	big := 100000 // several frames each
	for _, c := range []struct {
		prio string
		want string
	}{
		{"", "[1 3 5]"},    // the default: u=3, not incremental
		{"u=3", "[1 3 5]"}, // the same, explicit
		{"u=2, i", "[1 3 5 1 3 5 1 3 5 1 3 5 1 3 5 1 3 5 1 3 5]"},
	} {
		tc := newTConn(t, Config{})
		tc.handshake()
		tc.feed(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 1 << 30}))
		tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<30))
		for tc.c.Output() != nil && len(tc.c.Output()) > 0 {
			tc.next()
		}
		var extra []string
		if c.prio != "" {
			extra = []string{"priority", c.prio}
		}
		tc.feed(tc.getWith(1, "/", extra...))
		tc.feed(tc.getWith(3, "/", extra...))
		tc.feed(tc.getWith(5, "/", extra...))
		// Ready together: answered within one batch, like handlers
		// finishing in one read pass.
		for _, id := range []uint32{1, 3, 5} {
			r := tc.cb.reqs[0]
			tc.cb.reqs = tc.cb.reqs[1:]
			if r.StreamID != id {
				t.Fatalf("request %d, want %d", r.StreamID, id)
			}
			r.RespBody = append(r.RespBody, bytes.Repeat([]byte{'x'}, big)...)
			r.finishing, r.owned = true, true
			r.life = lifeAnswered
			st := tc.c.streams.Get(id)
			tc.c.writeHeaders(st, r, false, true)
			tc.c.enqueue(st)
		}
		tc.c.writeData()
		o := tc.dataOrder()
		if got := squeeze(o); got != c.want {
			t.Fatalf("priority %q: DATA order %v, want %s", c.prio, got, c.want)
		}
	}
}

// TestPriorityUpdateReorders: a PRIORITY_UPDATE for an open stream
// changes its place in the schedule.
func TestPriorityUpdateReorders(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.getWith(1, "/"))
	tc.respondN(1, 100000)
	tc.dataOrder() // the connection window is used up by stream 1
	tc.feed(tc.getWith(3, "/"))
	tc.respondN(3, 100000)
	tc.response(3)
	tc.noFrames()
	tc.feed(codec.AppendPriorityUpdate(nil, 3, "u=1"))
	tc.noFrames()
	tc.feed(codec.AppendWindowUpdate(nil, 1, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 3, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<20))
	if o := tc.dataOrder(); squeeze(o) != "[3 1]" || o[0] != "3" {
		t.Fatalf("DATA order %v, want stream 3 (u=1 now) whole first", o)
	}
}

// TestPriorityUpdateIdleStream: a PRIORITY_UPDATE for a stream not open
// yet is kept and applied when it opens, over its priority header field.
func TestPriorityUpdateIdleStream(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(codec.AppendPriorityUpdate(nil, 5, "u=0, i"))
	tc.feed(codec.AppendPriorityUpdate(nil, 7, "u=6"))
	tc.feed(codec.AppendPriorityUpdate(nil, 5, "u=1, i")) // the latest counts
	tc.feed(tc.getWith(5, "/", "priority", "u=7"))
	tc.feed(tc.getWith(9, "/", "priority", "u=2"))
	if len(tc.cb.reqs) != 2 {
		t.Fatalf("%d requests", len(tc.cb.reqs))
	}
	if p := tc.cb.reqs[0].Priority; p != (codec.Priority{Urgency: 1, Incremental: true}) {
		t.Fatalf("stream 5: %+v", p)
	}
	if p := tc.cb.reqs[1].Priority; p != (codec.Priority{Urgency: 2}) {
		t.Fatalf("stream 9: %+v", p)
	}
	// Stream 7 was skipped: its update is gone.
	if tc.c.rare == nil {
		t.Fatal("no buffered update was ever kept")
	}
	if len(tc.c.rare.prioIdle) != 0 {
		t.Fatalf("updates kept: %+v", tc.c.rare.prioIdle)
	}
	tc.noFrames()
}

// TestResponsePriorityOverrides: the priority field of a response is the
// handler's override (RFC 9218 §5), used to schedule its DATA.
func TestResponsePriorityOverrides(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.getWith(1, "/", "priority", "u=0"))
	tc.respondN(1, 100000)
	tc.dataOrder()
	tc.feed(tc.getWith(3, "/", "priority", "u=1"))
	tc.respondN(3, 100000)
	tc.response(3)
	tc.feed(tc.getWith(5, "/", "priority", "u=7"))
	tc.respondN(5, 1000, "priority", "u=0, i")
	_, fs, _ := tc.response(5)
	if fieldsOf(fs)[:len(":status=200;priority=u=0, i;")] != ":status=200;priority=u=0, i;" {
		t.Fatalf("fields %q", fieldsOf(fs))
	}
	tc.feed(codec.AppendWindowUpdate(nil, 1, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 3, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 5, 1<<20))
	tc.feed(codec.AppendWindowUpdate(nil, 0, 1<<20))
	// 1 first (u=0, non-incremental, at the front), then 5 (asked for
	// u=7, answered with u=0), then 3 (u=1)
	if o := tc.dataOrder(); squeeze(o) != "[1 5 3]" {
		t.Fatalf("DATA order %v", squeeze(o))
	}
}

// TestServerSettingsNoRFC7540: our SETTINGS carry
// SETTINGS_NO_RFC7540_PRIORITIES = 1 (RFC 9218 §2.1).
func TestServerSettingsNoRFC7540(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.feed([]byte(codec.ClientPreface))
	f := tc.next()
	sf, err := codec.ParseSettings(f.FrameHeader, f.p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := 0; i < sf.Len(); i++ {
		if s := sf.At(i); s.ID == codec.SettingNoRFC7540Priorities && s.Value == 1 {
			found = true
		}
	}
	if !found {
		t.Fatal("no SETTINGS_NO_RFC7540_PRIORITIES = 1")
	}
}

// TestPriorityViolations: every MUST of RFC 9218 with the bytes that break
// it and the error they get.
func TestPriorityViolations(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		in   func(tc *tconn) []byte
		code codec.ErrCode
	}{
		// "If a PRIORITY_UPDATE frame is received with a Stream Identifier
		// of ... other than 0x0, the recipient MUST respond with a
		// connection error of type PROTOCOL_ERROR" (§7.1)
		{"on a request stream", Config{}, func(tc *tconn) []byte {
			b := codec.AppendPriorityUpdate(nil, 1, "u=0")
			b[8] = 1
			return append(tc.getWith(1, "/"), b...)
		}, codec.ErrCodeProtocol},
		// "If a PRIORITY_UPDATE frame is received with a Prioritized Stream
		// ID of 0x0, the recipient MUST respond with a connection error of
		// type PROTOCOL_ERROR"
		{"prioritizes stream 0", Config{}, func(tc *tconn) []byte {
			return codec.AppendPriorityUpdate(nil, 0, "u=0")
		}, codec.ErrCodeProtocol},
		{"shorter than 4", Config{}, func(tc *tconn) []byte {
			return []byte{0, 0, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 1}
		}, codec.ErrCodeFrameSize},
		// "Servers that receive a PRIORITY_UPDATE for a push stream in the
		// "idle" state MUST respond with a connection error of type
		// PROTOCOL_ERROR"
		{"idle push stream", Config{}, func(tc *tconn) []byte {
			return codec.AppendPriorityUpdate(nil, 2, "u=0")
		}, codec.ErrCodeProtocol},
		// "The number of streams that have been prioritized but remain in
		// the "idle" state plus the number of active streams ... MUST NOT
		// exceed the value of the SETTINGS_MAX_CONCURRENT_STREAMS
		// parameter. Servers that receive such a PRIORITY_UPDATE MUST
		// respond with a connection error of type PROTOCOL_ERROR."
		{"too many idle streams prioritized", Config{MaxConcurrentStreams: 4}, func(tc *tconn) []byte {
			b := tc.getWith(1, "/") // one active stream
			for id := uint32(11); id <= 17; id += 2 {
				b = codec.AppendPriorityUpdate(b, id, "u=1")
			}
			return b
		}, codec.ErrCodeProtocol},
		// "Any value other than 0 or 1 MUST be treated as a connection
		// error of type PROTOCOL_ERROR" (§2.1)
		{"SETTINGS_NO_RFC7540_PRIORITIES 2", Config{}, func(tc *tconn) []byte {
			return codec.AppendSettings(nil, codec.Setting{ID: codec.SettingNoRFC7540Priorities, Value: 2})
		}, codec.ErrCodeProtocol},
		// "Receivers that detect a change MAY treat it as a connection
		// error of type PROTOCOL_ERROR" (§2.1): we do. The handshake's
		// SETTINGS had none (0).
		{"SETTINGS_NO_RFC7540_PRIORITIES changed", Config{}, func(tc *tconn) []byte {
			return codec.AppendSettings(nil, codec.Setting{ID: codec.SettingNoRFC7540Priorities, Value: 1})
		}, codec.ErrCodeProtocol},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc := newTConn(t, c.cfg)
			tc.handshake()
			tc.c.Feed(c.in(tc))
			tc.wantGoAwaySkipping(c.code)
		})
	}
	// Within the limit, and repeated for one stream, buffering is fine.
	tc := newTConn(t, Config{MaxConcurrentStreams: 4})
	tc.handshake()
	tc.feed(tc.getWith(1, "/"))
	for i := 0; i < 10; i++ {
		tc.feed(codec.AppendPriorityUpdate(nil, 11, "u=1"))
		tc.feed(codec.AppendPriorityUpdate(nil, 13, "u=1"))
		tc.feed(codec.AppendPriorityUpdate(nil, 15, "u=1"))
	}
	// closed streams and odd input: discarded
	tc.feed(codec.AppendPriorityUpdate(nil, 1, "garbage;;,=")) // open: parsed leniently
	tc.noFrames()
	if tc.c.Closed() {
		t.Fatal("closed")
	}
	// RFC 7540 PRIORITY frames are still accepted and ignored.
	tc.feed(codec.AppendPriority(nil, 3, codec.PriorityParam{StreamDep: 1, Weight: 200}))
	tc.feed(codec.AppendPriority(nil, 1, codec.PriorityParam{StreamDep: 0, Weight: 1}))
	tc.noFrames()
}

// wantGoAwaySkipping is wantGoAway that also skips response frames.
func (tc *tconn) wantGoAwaySkipping(code codec.ErrCode) {
	tc.t.Helper()
	for {
		f := tc.next()
		if f.Type == codec.FrameGoAway {
			ga, _ := codec.ParseGoAway(f.FrameHeader, f.p)
			if ga.Code != code {
				tc.t.Fatalf("GOAWAY %v (%s), want %v", ga.Code, ga.DebugData, code)
			}
			return
		}
	}
}

// TestPriorityUpdateFlood: PRIORITY_UPDATE frames do no request's work and
// count against MaxUselessFrames (RFC 9218 §12: "a peer could send a large
// number of PRIORITY_UPDATE frames").
func TestPriorityUpdateFlood(t *testing.T) {
	tc := newTConn(t, Config{MaxUselessFrames: 50})
	tc.handshake()
	tc.feed(tc.getWith(1, "/"))
	var b []byte
	for i := 0; i < 51; i++ {
		b = codec.AppendPriorityUpdate(b, 1, "u=2")
	}
	tc.c.Feed(b)
	tc.wantGoAwaySkipping(codec.ErrCodeEnhanceYourCalm)
}
