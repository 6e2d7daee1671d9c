package window

// SendConn holds the send side of one connection's flow control: the
// connection-level send window (what the peer lets us send on the whole
// connection) and the peer's SETTINGS_INITIAL_WINDOW_SIZE. Per-stream send
// windows are SendStream values stored by the caller (inline in its stream
// records) and kept relative to the initial size:
//
//	stream window = initial + adj
//
// so a change of SETTINGS_INITIAL_WINDOW_SIZE moves every open stream's
// window at once without visiting any stream.
//
// RFC 9113 §6.9.2: "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a
// receiver MUST adjust the size of all stream flow-control windows that it
// maintains by the difference between the new value and the old value."
//
// To refuse a change that would push some open stream above MaxWindow
// (§6.9.2) without scanning the streams, SendConn keeps the multiset of the
// positive adjustments of open streams (streams with adj <= 0 can never
// overflow, since initial <= MaxWindow) and an upper bound on its maximum that
// is exact unless the stream holding the maximum has since consumed or
// closed. Complexity, honestly:
//
//   - Consume, AddStream, OpenStream, CloseStream: O(1). A stream whose
//     adjustment is positive (the peer granted it more than the initial size
//     plus what it sent) costs two hash probes; a stream at or below the
//     initial size touches no table at all.
//   - SetInitialStreamWindow: O(1) when the value decreases, when no open
//     stream has a positive adjustment, or when the remembered bound already
//     proves the change safe; otherwise, when the bound is stale, one scan of
//     the table, O(peak number of distinct positive adjustments), after which
//     the bound is exact again.
//   - Allowed, StreamAvailable, ConnAvailable, AddConn: O(1).
//
// The table allocates only when the number of distinct positive adjustments
// exceeds its previous peak (it doubles, never shrinks): nothing in steady
// state.
//
// A SendConn must not be copied after first use (it owns its table), and
// every OpenStream must be matched by a CloseStream on the same SendStream.
// All methods must be called by one goroutine at a time (the connection's
// owner serialises them).
type SendConn struct {
	// windows, owned by the caller holding the connection
	conn    int64 // connection send window; may be < 0 only if Consume exceeded Allowed
	initial int64 // peer's SETTINGS_INITIAL_WINDOW_SIZE, 0..MaxWindow

	// bookkeeping for the §6.9.2 overflow check, private to SendConn
	pos      adjSet // adj of every open stream whose adj > 0
	open     int32  // open (tracked) streams: at most the stream ids there are
	maxAdj   uint32 // >= every value in pos; == the largest unless maxStale
	maxStale bool   // the stream that held maxAdj consumed or closed since
}

// SendStream is one stream's send window, relative to its SendConn's initial
// window. It is a small value (no pointers) meant to be stored inline in the
// stream record; the zero value is a stream that is not open. A record may be
// moved (copied) freely while only one copy is used afterwards.
type SendStream struct {
	adj     int64 // window = SendConn.initial + adj
	tracked bool  // between OpenStream and CloseStream
}

// NewSendConn returns the send side of a new connection: the connection
// window at 65,535 and stream windows starting at initialStreamWindow (the
// peer's SETTINGS_INITIAL_WINDOW_SIZE, InitialWindow until its SETTINGS
// arrive). Values above MaxWindow are clamped to MaxWindow (the codec rejects
// them earlier, §6.5.2).
//
// RFC 9113 §6.9.2: "Similarly, the connection flow-control window is set
// based on the default initial window size until a WINDOW_UPDATE frame is
// received."
func NewSendConn(initialStreamWindow uint32) SendConn {
	return SendConn{conn: InitialWindow, initial: int64(min(initialStreamWindow, MaxWindow))}
}

// SetInitialStreamWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE from the
// peer to every open stream (each window moves by v minus the old value,
// possibly below zero) and to streams opened later. It returns ErrOverflow,
// and changes nothing, if v exceeds MaxWindow or any open stream's window
// would exceed MaxWindow: the caller answers with GOAWAY FLOW_CONTROL_ERROR.
//
// RFC 9113 §6.9.2: "An endpoint MUST treat a change to
// SETTINGS_INITIAL_WINDOW_SIZE that causes any flow-control window to exceed
// the maximum size as a connection error (Section 5.4.1) of type
// FLOW_CONTROL_ERROR." And: "A change to SETTINGS_INITIAL_WINDOW_SIZE can
// cause the available space in a flow-control window to become negative."
// "The connection flow-control window can only be changed using WINDOW_UPDATE
// frames", so the connection window is untouched.
//
// Cost: see SendConn; O(1) except for one table scan when the remembered
// maximum is stale and does not by itself prove the change safe.
func (c *SendConn) SetInitialStreamWindow(v uint32) error {
	if v > MaxWindow {
		return ErrOverflow
	}
	if c.pos.keys > 0 && int64(v)+int64(c.maxAdj) > MaxWindow {
		if c.maxStale {
			c.maxAdj = c.pos.max()
			c.maxStale = false
		}
		if int64(v)+int64(c.maxAdj) > MaxWindow {
			return ErrOverflow
		}
	}
	c.initial = int64(v)
	return nil
}

// InitialStreamWindow returns the peer's current SETTINGS_INITIAL_WINDOW_SIZE.
func (c *SendConn) InitialStreamWindow() uint32 { return uint32(c.initial) }

// AddConn applies a WINDOW_UPDATE received on stream 0. It returns
// ErrZeroIncrement for 0 and ErrOverflow if the connection window would
// exceed MaxWindow (GOAWAY FLOW_CONTROL_ERROR); on error nothing changes.
//
// RFC 9113 §6.9.1: "A sender that receives a WINDOW_UPDATE frame updates the
// corresponding window by the amount specified in the frame." and "A sender
// MUST NOT allow a flow-control window to exceed 2^31-1 octets."
func (c *SendConn) AddConn(incr uint32) error {
	if incr == 0 {
		return ErrZeroIncrement
	}
	w := c.conn + int64(incr)
	if w > MaxWindow {
		return ErrOverflow
	}
	c.conn = w
	return nil
}

// ConnAvailable returns the connection send window.
func (c *SendConn) ConnAvailable() int64 { return c.conn }

// OpenStreams returns the number of streams between OpenStream and
// CloseStream.
func (c *SendConn) OpenStreams() int { return int(c.open) }

// OpenStream sets s to a new stream's window (the current initial size) and
// tracks it for the §6.9.2 overflow check until CloseStream. Opening an
// already open stream resets its window.
//
// RFC 9113 §6.9.2: "Both endpoints can adjust the initial window size for new
// streams by including a value for SETTINGS_INITIAL_WINDOW_SIZE in the
// SETTINGS frame."
func (c *SendConn) OpenStream(s *SendStream) {
	if s.tracked {
		c.CloseStream(s)
	}
	*s = SendStream{tracked: true}
	c.open++
}

// CloseStream stops tracking s: it no longer counts in the §6.9.2 overflow
// check of SetInitialStreamWindow. Closing a stream that is not open does
// nothing.
func (c *SendConn) CloseStream(s *SendStream) {
	if !s.tracked {
		return
	}
	if s.adj > 0 {
		c.untrack(uint32(s.adj))
	}
	s.tracked = false
	c.open--
}

// StreamAvailable returns s's send window. It may be negative after the peer
// lowered SETTINGS_INITIAL_WINDOW_SIZE.
//
// RFC 9113 §6.9.2: "A sender MUST track the negative flow-control window and
// MUST NOT send new flow-controlled frames until it receives WINDOW_UPDATE
// frames that cause the flow-control window to become positive."
func (c *SendConn) StreamAvailable(s *SendStream) int64 { return c.initial + s.adj }

// AddStream applies a WINDOW_UPDATE received on s's stream. It returns
// ErrZeroIncrement for 0 and ErrOverflow if the stream window would exceed
// MaxWindow (RST_STREAM FLOW_CONTROL_ERROR); on error nothing changes. A
// negative window rises by incr like any other.
//
// RFC 9113 §6.9.1: "If a sender receives a WINDOW_UPDATE that causes a
// flow-control window to exceed this maximum, it MUST terminate either the
// stream or the connection, as appropriate. For streams, the sender sends a
// RST_STREAM with an error code of FLOW_CONTROL_ERROR".
func (c *SendConn) AddStream(s *SendStream, incr uint32) error {
	if incr == 0 {
		return ErrZeroIncrement
	}
	adj := s.adj + int64(incr)
	if c.initial+adj > MaxWindow {
		return ErrOverflow
	}
	c.setAdj(s, adj)
	return nil
}

// Allowed returns how many octets of DATA (payload plus padding) may be sent
// on s now: min(want, stream window, connection window), and 0 when either
// window is zero or negative or want <= 0. A zero-length DATA frame with
// END_STREAM needs no window and does not call Allowed.
//
// RFC 9113 §6.9.1: "The sender MUST NOT send a flow-controlled frame with a
// length that exceeds the space available in either of the flow-control
// windows advertised by the receiver. Frames with zero length with the
// END_STREAM flag set (that is, an empty DATA frame) MAY be sent if there is
// no available space in either flow-control window."
func (c *SendConn) Allowed(s *SendStream, want int) int {
	w := min(c.initial+s.adj, c.conn)
	if want <= 0 || w <= 0 {
		return 0
	}
	if int64(want) < w {
		return want
	}
	return int(w)
}

// Consume records n octets of DATA sent on s: the frame's whole
// flow-controlled length, payload plus Pad Length and padding, not the
// 9-octet header. n must not exceed Allowed(s, n); n <= 0 does nothing.
//
// RFC 9113 §6.9.1: "After sending a flow-controlled frame, the sender reduces
// the space available in both windows by the length of the transmitted
// frame." and "For flow-control calculations, the 9-octet frame header is not
// counted." RFC 9113 §6.1: "The entire DATA frame payload is included in flow
// control, including the Pad Length and Padding fields if present."
func (c *SendConn) Consume(s *SendStream, n int) {
	if n <= 0 {
		return
	}
	c.conn -= int64(n)
	c.setAdj(s, s.adj-int64(n))
}

// setAdj sets s.adj and keeps the positive-adjustment multiset in step.
func (c *SendConn) setAdj(s *SendStream, adj int64) {
	if s.tracked && (s.adj > 0 || adj > 0) {
		if s.adj > 0 {
			c.untrack(uint32(s.adj))
		}
		if adj > 0 {
			// adj <= MaxWindow - initial <= MaxWindow: AddStream and
			// SetInitialStreamWindow guarantee it, Consume only lowers adj.
			c.track(uint32(adj))
		}
	}
	s.adj = adj
}

// track adds a positive adjustment of an open stream.
func (c *SendConn) track(k uint32) {
	c.pos.insert(k)
	if k >= c.maxAdj { // above or at the bound: k is the exact maximum
		c.maxAdj = k
		c.maxStale = false
	}
}

// untrack removes a positive adjustment of an open stream.
func (c *SendConn) untrack(k uint32) {
	left := c.pos.remove(k)
	switch {
	case c.pos.keys == 0:
		c.maxAdj, c.maxStale = 0, false
	case left == 0 && k == c.maxAdj:
		c.maxStale = true // still an upper bound; recomputed when it matters
	}
}
