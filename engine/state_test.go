package engine

import (
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// rfcTransition is the answer RFC 9113 §5.1 gives for one event in one state,
// as a server that never pushes sees the streams its client opens. It is
// written from the text of the RFC, independently of the transitions table,
// and the test below compares the two pair by pair. Every rule quotes its
// sentence.
func rfcTransition(s streamState, e streamEvent) transition {
	okTo := func(next streamState) transition { return transition{next, okEvent, 0} }
	const (
		protocol     = codec.ErrCodeProtocol
		streamClosed = codec.ErrCodeStreamClosed
		internal     = codec.ErrCodeInternal
	)
	// Sending RST_STREAM closes the stream from any live state: "A stream
	// also enters the "closed" state after an endpoint either sends or
	// receives a RST_STREAM frame."
	switch s {
	case stIdle:
		switch e {
		case evRecvHeaders:
			// "Sending a HEADERS frame as a client, or receiving a HEADERS
			// frame as a server, causes the stream to become "open"."
			return okTo(stOpen)
		case evRecvData, evRecvEndStream, evRecvRST:
			// "Receiving any frame other than HEADERS or PRIORITY on a stream
			// in this state MUST be treated as a connection error (Section
			// 5.4.1) of type PROTOCOL_ERROR." END_STREAM on an idle stream
			// can only come on a DATA frame (HEADERS opens the stream first).
			return transition{stIdle, connErr, protocol}
		case evSendHeaders, evSendEndStream:
			// A server opens streams only with PUSH_PROMISE (the reserved
			// states), which it never sends: a response on a stream the
			// client has not opened is our own bug.
			return transition{stIdle, localBug, internal}
		case evSendRST:
			// §6.4 says "RST_STREAM frames MUST NOT be sent for a stream in
			// the "idle" state", but §5.3.1 makes a PRIORITY frame that
			// depends on its own (idle) stream "a stream error of type
			// PROTOCOL_ERROR", and a stream error is a RST_STREAM (§5.4.2):
			// h2spec 5.3.1/2 checks for it. The reset closes the stream.
			return okTo(stClosed)
		}
	case stOpen:
		// "A stream in the "open" state may be used by both peers to send
		// frames of any type." "An endpoint sending an END_STREAM flag causes
		// the stream state to become "half-closed (local)"; an endpoint
		// receiving an END_STREAM flag causes the stream state to become
		// "half-closed (remote)"." "Either endpoint can send a RST_STREAM
		// frame from this state, causing it to transition immediately to
		// "closed"."
		switch e {
		case evRecvHeaders, evRecvData, evSendHeaders:
			return okTo(stOpen)
		case evRecvEndStream:
			return okTo(stHalfClosedRemote)
		case evSendEndStream:
			return okTo(stHalfClosedLocal)
		case evRecvRST, evSendRST:
			return okTo(stClosed)
		}
	case stHalfClosedRemote:
		switch e {
		case evRecvHeaders, evRecvData, evRecvEndStream:
			// "If an endpoint receives additional frames, other than
			// WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in
			// this state, it MUST respond with a stream error (Section 5.4.2)
			// of type STREAM_CLOSED."
			return transition{stHalfClosedRemote, streamErr, streamClosed}
		case evSendHeaders:
			// "A stream that is "half-closed (remote)" can be used by the
			// endpoint to send frames of any type."
			return okTo(stHalfClosedRemote)
		case evSendEndStream, evRecvRST, evSendRST:
			// "A stream can transition from this state to "closed" by sending
			// a frame with the END_STREAM flag set or when either peer sends a
			// RST_STREAM frame."
			return okTo(stClosed)
		}
	case stHalfClosedLocal:
		switch e {
		case evRecvHeaders, evRecvData:
			// "An endpoint can receive any type of frame in this state."
			return okTo(stHalfClosedLocal)
		case evRecvEndStream, evRecvRST, evSendRST:
			// "A stream transitions from this state to "closed" when a frame
			// is received with the END_STREAM flag set or when either peer
			// sends a RST_STREAM frame."
			return okTo(stClosed)
		case evSendHeaders, evSendEndStream:
			// "A stream that is in the "half-closed (local)" state cannot be
			// used for sending frames other than WINDOW_UPDATE, PRIORITY, and
			// RST_STREAM."
			return transition{stHalfClosedLocal, localBug, internal}
		}
	case stClosed:
		switch e {
		case evRecvHeaders:
			// "An endpoint MAY treat receipt of any other type of frame on a
			// closed stream as a connection error (Section 5.4.1) of type
			// STREAM_CLOSED". A HEADERS frame cannot be in flight on a stream
			// the client itself ended or reset, and it can open no stream
			// either (§5.1.1: ids only grow): the connection error.
			return transition{stClosed, connErr, streamClosed}
		case evRecvData, evRecvEndStream:
			// DATA may still be in flight when the client reset the stream
			// and, as far as this row can tell, when we did ("An endpoint
			// MUST minimally process and then discard any frames it receives
			// in this state"): the milder stream error STREAM_CLOSED. Streams
			// we reset ourselves are remembered apart and their late frames
			// discarded silently (TestClosedAfterOurReset).
			return transition{stClosed, streamErr, streamClosed}
		case evRecvRST:
			// "An endpoint that sends a frame with the END_STREAM flag set or
			// a RST_STREAM frame might receive a WINDOW_UPDATE or RST_STREAM
			// frame from its peer in the time before the peer receives and
			// processes the frame that closes the stream."
			return transition{stClosed, ignore, 0}
		case evSendHeaders, evSendEndStream, evSendRST:
			// "An endpoint MUST NOT send frames other than PRIORITY on a
			// closed stream": a late response (or reset) is dropped.
			return transition{stClosed, ignore, 0}
		}
	case stReservedLocal:
		switch e {
		case evRecvHeaders, evRecvData, evRecvEndStream:
			// "Receiving any type of frame other than RST_STREAM, PRIORITY,
			// or WINDOW_UPDATE on a stream in this state MUST be treated as
			// a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
			return transition{stReservedLocal, connErr, protocol}
		case evSendHeaders:
			// "The endpoint can send a HEADERS frame. This causes the stream
			// to open in a "half-closed (remote)" state."
			return okTo(stHalfClosedRemote)
		case evSendEndStream:
			// "An endpoint MUST NOT send any type of frame other than
			// HEADERS, RST_STREAM, or PRIORITY in this state": END_STREAM
			// comes on or after the HEADERS.
			return transition{stReservedLocal, localBug, internal}
		case evRecvRST, evSendRST:
			// "Either endpoint can send a RST_STREAM frame to cause the
			// stream to become "closed"."
			return okTo(stClosed)
		}
	}
	panic("no RFC rule for " + s.String() + " / " + e.String())
}

// TestTransitionTable checks every (state, event) pair of the §5.1 table:
// numStates x numEvents = 42 pairs.
func TestTransitionTable(t *testing.T) {
	if int(numStates)*int(numEvents) != 42 {
		t.Fatalf("%d states x %d events: the table changed shape, update rfcTransition", numStates, numEvents)
	}
	checked := 0
	for s := streamState(0); s < numStates; s++ {
		for e := streamEvent(0); e < numEvents; e++ {
			got, want := transitions[s][e], rfcTransition(s, e)
			if got != want {
				t.Errorf("%v / %v: table says {%v, kind %d, %v}, RFC 9113 §5.1 says {%v, kind %d, %v}",
					s, e, got.next, got.kind, got.code, want.next, want.kind, want.code)
			}
			// Errors leave the state to the error's own handling (a
			// RST_STREAM or GOAWAY follows); only legal events move.
			if got.kind != okEvent && got.next != s {
				t.Errorf("%v / %v: an error entry moves to %v", s, e, got.next)
			}
			if (got.kind == connErr || got.kind == streamErr || got.kind == localBug) != (got.code != 0) {
				t.Errorf("%v / %v: kind %d with code %v", s, e, got.kind, got.code)
			}
			checked++
		}
	}
	if checked != 42 {
		t.Fatalf("checked %d pairs, want 42", checked)
	}
}

func TestStateAndEventNames(t *testing.T) {
	seen := map[string]bool{}
	for s := streamState(0); s < numStates; s++ {
		if n := s.String(); n == "" || seen[n] {
			t.Fatalf("state %d has name %q", s, n)
		} else {
			seen[n] = true
		}
	}
	for e := streamEvent(0); e < numEvents; e++ {
		if n := e.String(); n == "" || seen[n] {
			t.Fatalf("event %d has name %q", e, n)
		} else {
			seen[n] = true
		}
	}
}

// Wire checks: the engine's answer to each receive event, in each state a
// stream can rest in, is the one the table gives.

const wireID = 1

// streamIn returns a handshaken connection whose stream wireID is in state s.
func streamIn(t *testing.T, s streamState, closedBy string) *tconn {
	tc := newTConn(t, Config{})
	tc.handshake()
	switch s {
	case stIdle:
	case stOpen:
		tc.feed(tc.post(wireID, "/upload")) // no END_STREAM, body still to come
	case stHalfClosedRemote:
		tc.feed(tc.get(wireID, "/")) // END_STREAM on the HEADERS; the handler runs
		if len(tc.cb.reqs) != 1 {
			t.Fatalf("GET not dispatched")
		}
	case stClosed:
		tc.feed(tc.get(wireID, "/"))
		switch closedBy {
		case "client reset":
			tc.feed(codec.AppendRSTStream(nil, wireID, codec.ErrCodeCancel))
			tc.c.Respond(tc.cb.reqs[0]) // the handler returns late: nothing is sent
		case "both ended":
			tc.serveAll("done")
			tc.response(wireID)
			tc.body(wireID)
		default:
			t.Fatalf("closedBy %q", closedBy)
		}
		tc.noFrames()
		if tc.c.ActiveStreams() != 0 {
			t.Fatalf("stream not closed")
		}
		return tc
	default:
		t.Fatalf("state %v is not a resting state", s)
	}
	if st := tc.c.streams.Get(wireID); s == stIdle && st != nil || s != stIdle && (st == nil || st.state != s) {
		t.Fatalf("setup did not reach %v", s)
	}
	tc.noFrames()
	return tc
}

// eventFrames returns the client frames that deliver e on wireID.
func eventFrames(tc *tconn, s streamState, e streamEvent) []byte {
	switch e {
	case evRecvHeaders:
		if s == stIdle {
			return tc.post(wireID, "/new") // a request header section without END_STREAM
		}
		// A trailer section, which must carry END_STREAM (§8.1).
		return codec.AppendHeaders(nil, wireID, true, true, tc.headerBlock("x-checksum", "abc"))
	case evRecvData:
		return codec.AppendData(nil, wireID, false, []byte("x"))
	case evRecvEndStream:
		return codec.AppendData(nil, wireID, true, nil)
	case evRecvRST:
		return codec.AppendRSTStream(nil, wireID, codec.ErrCodeCancel)
	}
	panic("not a receive event")
}

func TestTransitionsOnTheWire(t *testing.T) {
	type restState struct {
		s        streamState
		closedBy string
	}
	states := []restState{{stIdle, ""}, {stOpen, ""}, {stHalfClosedRemote, ""}, {stClosed, "client reset"}, {stClosed, "both ended"}}
	for _, rs := range states {
		for e := evRecvHeaders; e <= evRecvRST; e++ {
			name := rs.s.String() + " " + rs.closedBy + "/" + e.String()
			t.Run(name, func(t *testing.T) {
				tc := streamIn(t, rs.s, rs.closedBy)
				tr := transitions[rs.s][e]
				want := tr
				if tr.kind == okEvent && e == evRecvHeaders && rs.s != stIdle {
					// The trailer section ends the stream too.
					want = transitions[tr.next][evRecvEndStream]
				}
				err := tc.feed(eventFrames(tc, rs.s, e))
				switch want.kind {
				case okEvent:
					if err != nil {
						t.Fatalf("Feed: %v", err)
					}
					for len(tc.c.Output()) > 0 {
						if f := tc.next(); f.Type != codec.FrameWindowUpdate {
							t.Fatalf("legal event answered with %v", f.Type)
						}
					}
					st := tc.c.streams.Get(wireID)
					if want.next == stClosed {
						if st != nil {
							t.Fatalf("stream in %v, want closed", st.state)
						}
					} else if st == nil || st.state != want.next {
						t.Fatalf("stream %v, want %v", st, want.next)
					}
				case connErr:
					tc.wantGoAway(want.code)
				case streamErr:
					tc.wantRST(wireID, want.code)
					tc.noFrames()
					if tc.c.Closed() || tc.c.streams.Get(wireID) != nil {
						t.Fatalf("after a stream error: closed %v, stream %v", tc.c.Closed(), tc.c.streams.Get(wireID))
					}
				case ignore:
					if err != nil {
						t.Fatalf("Feed: %v", err)
					}
					tc.noFrames()
				default:
					t.Fatalf("receive event with kind %d", want.kind)
				}
			})
		}
	}
}

// TestHalfClosedLocalIsTransient: the engine ends a response only when the
// handler is done, so a stream that reaches half-closed (local) with the
// request body still arriving takes at most drainLimit more body (a small
// body ends on its own, with every protocol check) and is then closed with
// RST_STREAM(NO_ERROR), as §8.1 allows: "the server MAY request that the
// client abort transmission of a request without error by sending a
// RST_STREAM with an error code of NO_ERROR after sending a complete
// response". Its receive events are then those of the closed state.
func TestHalfClosedLocalIsTransient(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.post(wireID, "/upload"))
	if len(tc.cb.reqs) != 1 {
		t.Fatal("streaming request not dispatched")
	}
	tc.serveAll("early answer")
	if status, _, end := tc.response(wireID); status != "200" || end {
		t.Fatalf("status %q end %v", status, end)
	}
	if b := tc.body(wireID); string(b) != "early answer" {
		t.Fatalf("body %q", b)
	}
	drain(tc, wireID)
	tc.wantRST(wireID, codec.ErrCodeNo)
	tc.noFrames()
	if tc.c.ActiveStreams() != 0 || tc.cb.released != 1 {
		t.Fatalf("active %d released %d", tc.c.ActiveStreams(), tc.cb.released)
	}
}

// TestLateResponseDropped: the send events the table calls our own bug never
// happen, because the engine only writes on streams it holds in the open or
// half-closed (remote) state; a late response on a closed stream is dropped.
func TestLateResponseDropped(t *testing.T) {
	tc := streamIn(t, stHalfClosedRemote, "")
	r := tc.cb.reqs[0]
	tc.feed(codec.AppendRSTStream(nil, wireID, codec.ErrCodeCancel))
	r.RespBody = append(r.RespBody, "too late"...)
	if tc.c.SendHeaders(r) || tc.c.Flush(r) {
		t.Fatal("SendHeaders/Flush on a reset stream reported success")
	}
	tc.c.Respond(r)
	tc.noFrames()
	if tc.cb.released != 1 {
		t.Fatalf("released %d", tc.cb.released)
	}
}

// TestClosedAfterOurReset: of a stream we reset (an early complete response
// closed with RST_STREAM(NO_ERROR), a stream error, a refused stream), "An
// endpoint MUST minimally process and then discard any frames it receives in
// this state. This means updating header compression state for HEADERS ...
// Additionally, the content of DATA frames counts toward the connection
// flow-control window" (§5.1): the client's frames in flight are discarded
// without an answer, and the connection goes on.
func TestClosedAfterOurReset(t *testing.T) {
	cases := []struct {
		name  string
		cfg   Config
		setup func(tc *tconn)
		code  codec.ErrCode
	}{
		{"early response", Config{}, func(tc *tconn) {
			tc.feed(tc.post(wireID, "/upload"))
			tc.serveAll("early")
			tc.response(wireID)
			tc.body(wireID)
			drain(tc, wireID)
		}, codec.ErrCodeNo},
		{"stream error", Config{}, func(tc *tconn) {
			tc.feed(tc.post(wireID, "/upload", "content-length", "2"))
			tc.feed(codec.AppendData(nil, wireID, false, []byte("abc")))
		}, codec.ErrCodeProtocol},
		{"refused", Config{MaxConcurrentStreams: 1}, nil, codec.ErrCodeRefusedStream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tc := newTConn(t, c.cfg)
			tc.handshake()
			if c.name == "refused" {
				// Stream 3 holds the only slot; stream 5 is refused.
				tc.feed(tc.post(3, "/holder"))
				tc.feed(tc.post(5, "/refused"))
				tc.wantRST(5, c.code)
				tc.feed(codec.AppendRSTStream(nil, 3, codec.ErrCodeCancel)) // frees the slot for late's request
				late(t, tc, 5)
				return
			}
			c.setup(tc)
			tc.wantRST(wireID, c.code)
			late(t, tc, wireID)
		})
	}
}

// late sends what a client may still have in flight on a stream we reset,
// and checks that it is discarded and that the HPACK state stays in sync.
func late(t *testing.T, tc *tconn, id uint32) {
	t.Helper()
	tc.noFrames()
	var b []byte
	b = codec.AppendData(b, id, false, make([]byte, 1000))
	b = codec.AppendData(b, id, false, nil)
	b = codec.AppendHeaders(b, id, true, true, tc.headerBlock("x-late-trailer", "42")) // indexed by the client
	if err := tc.feed(b); err != nil {
		t.Fatalf("late frames: %v", err)
	}
	for len(tc.c.Output()) > 0 {
		if f := tc.next(); f.Type != codec.FrameWindowUpdate || f.StreamID != 0 {
			t.Fatalf("late frames answered with %v on stream %d", f.Type, f.StreamID)
		}
	}
	if tc.c.Closed() {
		t.Fatal("connection closed")
	}
	// The trailer's field is in both dynamic tables: the next request refers to it.
	n := len(tc.cb.reqs)
	tc.feed(codec.AppendHeaders(nil, 101, true, true, tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/next", "x-late-trailer", "42")))
	if len(tc.cb.reqs) != n+1 {
		t.Fatalf("next request not dispatched")
	}
	if v, _ := tc.cb.reqs[n].Header.Get("x-late-trailer"); v != "42" {
		t.Fatalf("HPACK out of sync: x-late-trailer %q", v)
	}
}

// TestZeroIncrementByState: a WINDOW_UPDATE with a zero increment is a stream
// error (§6.9) only on a stream that exists; on an idle stream the idle rule
// comes first (§5.1: connection error; §6.4: no RST_STREAM on an idle
// stream), and on a closed stream it is discarded.
func TestZeroIncrementByState(t *testing.T) {
	for _, id := range []uint32{5, 6, 0x30303030} {
		tc := streamIn(t, stIdle, "")
		tc.c.Feed(codec.AppendWindowUpdate(nil, id, 0))
		tc.wantGoAway(codec.ErrCodeProtocol)
	}
	tc := streamIn(t, stHalfClosedRemote, "")
	tc.feed(codec.AppendWindowUpdate(nil, wireID, 0))
	tc.wantRST(wireID, codec.ErrCodeProtocol)
	tc = streamIn(t, stClosed, "both ended")
	tc.feed(codec.AppendWindowUpdate(nil, wireID, 0))
	tc.noFrames()
	if tc.c.Closed() {
		t.Fatal("closed")
	}
}

// drain sends more than drainLimit of body on a stream whose response is
// complete and whose handler is done.
func drain(tc *tconn, id uint32) {
	tc.t.Helper()
	tc.noFrames()
	for sent := 0; sent <= drainLimit; sent += 16384 {
		tc.feed(codec.AppendData(nil, id, false, make([]byte, 16384)))
	}
}

// A PRIORITY frame that makes an idle stream depend on itself resets it
// (§5.3.1, as h2spec expects); HEADERS that then arrive on that stream are
// discarded as those of any stream we reset, never served.
func TestHeadersAfterIdleStreamReset(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(codec.AppendPriority(nil, 1, codec.PriorityParam{StreamDep: 1, Weight: 15}))
	tc.wantRST(1, codec.ErrCodeProtocol)
	tc.feed(tc.get(1, "/"))
	tc.noFrames()
	if len(tc.cb.reqs) != 0 || tc.c.Closed() {
		t.Fatalf("%d requests served on the reset stream, closed %v", len(tc.cb.reqs), tc.c.Closed())
	}
	// The connection goes on.
	tc.feed(tc.get(3, "/"))
	if len(tc.cb.reqs) != 1 {
		t.Fatal("next stream not served")
	}
}

// TestRecentStreamsLifetime: a busy connection remembers the last 32
// streams it reset (frames in flight on them are discarded), and gives
// that record back once it has been idle, with no stream open and no
// frame received, for a whole tick: frames on those streams then count
// as on any closed stream (§5.1 lets the period be limited).
func TestRecentStreamsLifetime(t *testing.T) {
	tc := newTConn(t, Config{MaxConcurrentStreams: 1})
	tc.handshake()
	tc.feed(tc.post(3, "/holder"))
	const refused = 40
	last := uint32(3 + 2*refused)
	for id := uint32(5); id <= last; id += 2 {
		tc.feed(tc.post(id, "/refused"))
		tc.wantRST(id, codec.ErrCodeRefusedStream)
	}
	for id := last - 2*31; id <= last; id += 2 {
		tc.feed(codec.AppendData(nil, id, false, make([]byte, 10)))
	}
	for len(tc.c.Output()) > 0 {
		if f := tc.next(); f.Type != codec.FrameWindowUpdate || f.StreamID != 0 {
			t.Fatalf("DATA on one of the last 32 streams reset answered with %v on stream %d", f.Type, f.StreamID)
		}
	}
	tc.feed(codec.AppendRSTStream(nil, 3, codec.ErrCodeCancel))
	tc.noFrames()
	now := time.Now()
	tc.c.Tick(now) // frames came since the last tick
	if tc.c.rare == nil || tc.c.rare.recent == nil {
		t.Fatal("the record went back while the connection was busy")
	}
	tc.c.Tick(now.Add(time.Second)) // a whole tick idle
	if tc.c.rare.recent != nil {
		t.Fatal("an idle connection still holds its record of recent streams")
	}
	tc.feed(codec.AppendData(nil, last, false, make([]byte, 10)))
	tc.wantRST(last, codec.ErrCodeStreamClosed)
	if tc.c.Closed() {
		t.Fatal("connection closed")
	}
}

// TestHeadersOnClosedOrSkipped: HEADERS on a stream that was open and
// closed, however long ago, is a connection error of type STREAM_CLOSED
// (§5.1); on an id the client skipped (never opened, closed by a higher
// one, §5.1.1) it is a PROTOCOL_ERROR.
func TestHeadersOnClosedOrSkipped(t *testing.T) {
	for _, c := range []struct {
		name string
		id   uint32
		code codec.ErrCode
	}{
		{"closed long ago", 1, codec.ErrCodeStreamClosed},
		{"closed last", 99, codec.ErrCodeStreamClosed},
		{"skipped", 103, codec.ErrCodeProtocol},
	} {
		t.Run(c.name, func(t *testing.T) {
			tc := newTConn(t, Config{})
			tc.handshake()
			for id := uint32(1); id <= 99; id += 2 {
				tc.feed(tc.get(id, "/"))
			}
			tc.feed(tc.get(107, "/")) // skips 101, 103, 105
			tc.serveAll("ok")
			for len(tc.c.Output()) > 0 {
				tc.next()
			}
			tc.feed(tc.get(c.id, "/again"))
			tc.wantGoAway(c.code)
		})
	}
}
