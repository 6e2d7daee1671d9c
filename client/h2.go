package client

import (
	"errors"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/streamtable"
	"github.com/h2loop/h2loop/window"
)

// Result says how a stream ended.
type Result uint8

// Stream results.
const (
	// ResultOK: the response ended with END_STREAM (or RST_STREAM NO_ERROR
	// after it was complete).
	ResultOK Result = iota
	// ResultReset: the server reset the stream (the code says why).
	ResultReset
	// ResultRefused: the server did not process the request: RST_STREAM
	// REFUSED_STREAM, or a GOAWAY whose last stream id is below the
	// stream's. RFC 9113 §8.7: such requests "can be safely retried".
	ResultRefused
	// ResultConnError: the connection failed before the response ended.
	ResultConnError
	// ResultProtocol: the response was malformed (the client reset it).
	ResultProtocol
)

var resultNames = [...]string{"ok", "reset", "refused", "connection error", "malformed response"}

// String names the result.
func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Handler receives the stream events of a connection. Its methods are called
// from within Feed, Fail and Submit, on the goroutine that drives the
// connection.
type Handler interface {
	// Response reports the final status of the response on the stream
	// opened with token (>= 200; 0 when the block had no :status, -1 when
	// it was malformed). Informational (1xx) responses are not reported.
	Response(token int32, status int)
	// Closed reports that the stream opened with token ended. Every
	// submitted stream is closed exactly once.
	Closed(token int32, r Result, code codec.ErrCode)
}

// H2Config configures an HTTP/2 client connection.
type H2Config struct {
	// MaxConcurrentStreams is the most streams this side keeps open (h2load
	// -m). The server's SETTINGS_MAX_CONCURRENT_STREAMS may lower it.
	MaxConcurrentStreams int
	// StreamWindowBits sets SETTINGS_INITIAL_WINDOW_SIZE to 2^bits-1 (-w).
	StreamWindowBits int
	// ConnWindowBits sets the connection window to 2^bits-1 (-W).
	ConnWindowBits int
	// HeaderTableSize is the decoder's dynamic table limit we advertise
	// (SETTINGS_HEADER_TABLE_SIZE, --header-table-size).
	HeaderTableSize uint32
	// EncoderTableSize caps the encoder's dynamic table
	// (--encoder-header-table-size).
	EncoderTableSize uint32
	// MaxFrameSize is the SETTINGS_MAX_FRAME_SIZE we advertise (-f).
	MaxFrameSize uint32
}

// DefaultH2Config returns h2load's defaults: one stream, windows of 2^30-1,
// 4 KiB header tables, 16 KiB frames.
func DefaultH2Config() H2Config {
	return H2Config{MaxConcurrentStreams: 1, StreamWindowBits: 30, ConnWindowBits: 30,
		HeaderTableSize: 4096, EncoderTableSize: 4096, MaxFrameSize: codec.DefaultMaxFrameSize}
}

// Errors of Submit.
var (
	// ErrNoStreamSlot: the connection already has as many open streams as
	// allowed; wait for one to close.
	ErrNoStreamSlot = errors.New("client: no free stream slot")
	// ErrGoingAway: the server sent GOAWAY, the client is shutting the
	// connection down, or the stream ids are exhausted: open a new one.
	ErrGoingAway = errors.New("client: connection going away")
)

// stream flags
const (
	sfFinal   = 1 << iota // final response headers received
	sfEndRecv             // END_STREAM received
	sfEndSent             // END_STREAM sent
	sfBody                // request body pending in the queue
)

// stream is the per-stream record, stored inline in the stream table.
type stream struct {
	token   int32
	reqIdx  int32
	bodyOff int32
	flags   uint8
	recv    window.Recv
	send    window.SendStream
}

// H2Conn is the client side of one HTTP/2 connection, without I/O: the
// driver feeds it the bytes it reads (Feed) and writes what it produces
// (Output, Wrote). Methods must be called by one goroutine at a time.
//
// Requests come from a RequestSet and are identified by an int32 token the
// driver chooses; stream events go to the Handler.
type H2Conn struct {
	// immutable after NewH2Conn
	cfg      H2Config
	set      *RequestSet
	h        Handler
	strWin   uint32 // our SETTINGS_INITIAL_WINDOW_SIZE
	connWin  uint32 // our connection window target
	capacity int

	// owned by the driver
	out       []byte
	wpos      int // Output() is out[wpos:]
	streams   *streamtable.Table[stream]
	nextID    uint32
	active    int
	peerMax   uint32 // server's SETTINGS_MAX_CONCURRENT_STREAMS
	peerFrame uint32 // server's SETTINGS_MAX_FRAME_SIZE
	send      window.SendConn
	recv      window.Recv
	dec       respDecoder
	enc       *reqEncoder
	acked     bool // our SETTINGS acknowledged

	// header block being assembled (HEADERS without END_HEADERS)
	hdrStream uint32
	hdrEnd    bool // END_STREAM of the HEADERS frame
	hdrBuf    []byte

	// DATA frame being received in pieces
	dataStream uint32
	dataLeft   uint32 // octets of the frame still to come
	dataPad    uint32 // trailing padding among them
	dataEnd    bool

	goingAway  bool // GOAWAY received or sent
	goAwayLast uint32
	goAwayCode codec.ErrCode
	goAwayRecv bool

	bodyQueue []uint32 // streams whose body waits for window
	scratch   []uint32

	// Counters (traffic as h2load counts it). Read them between calls.
	BytesHead       uint64 // field block octets received (compressed)
	BytesHeadDecomp uint64 // their decoded size (names + values)
	BytesBody       uint64 // DATA payload octets received (padding excluded)
}

// NewH2Conn returns a connection that will send requests of set. Call Start
// (or StartUpgraded) before anything else.
func NewH2Conn(cfg H2Config, set *RequestSet, h Handler) *H2Conn {
	if cfg.MaxConcurrentStreams < 1 {
		cfg.MaxConcurrentStreams = 1
	}
	if cfg.MaxFrameSize < codec.DefaultMaxFrameSize {
		cfg.MaxFrameSize = codec.DefaultMaxFrameSize
	}
	c := &H2Conn{
		cfg:       cfg,
		set:       set,
		h:         h,
		strWin:    uint32(1)<<min(cfg.StreamWindowBits, 31) - 1,
		connWin:   uint32(1)<<min(cfg.ConnWindowBits, 31) - 1,
		capacity:  cfg.MaxConcurrentStreams,
		streams:   streamtable.New[stream](cfg.MaxConcurrentStreams),
		nextID:    1,
		peerMax:   1<<31 - 1,
		peerFrame: codec.DefaultMaxFrameSize,
		send:      window.NewSendConn(window.InitialWindow),
		recv:      window.NewRecv(window.InitialWindow),
		dec:       newRespDecoder(cfg.HeaderTableSize),
		enc:       newReqEncoder(cfg.EncoderTableSize, set.Len()),
		out:       make([]byte, 0, 16<<10),
	}
	return c
}

// Start appends the connection preface (RFC 9113 §3.4): the magic octets,
// our SETTINGS, and a WINDOW_UPDATE growing the connection window.
func (c *H2Conn) Start() {
	c.out = append(c.out, codec.ClientPreface...)
	c.appendSettings()
}

func (c *H2Conn) appendSettings() {
	s := [4]codec.Setting{
		{ID: codec.SettingEnablePush, Value: 0},
		{ID: codec.SettingInitialWindowSize, Value: c.strWin},
	}
	n := 2
	if c.cfg.HeaderTableSize != codec.DefaultHeaderTableSize {
		s[n] = codec.Setting{ID: codec.SettingHeaderTableSize, Value: c.cfg.HeaderTableSize}
		n++
	}
	if c.cfg.MaxFrameSize != codec.DefaultMaxFrameSize {
		s[n] = codec.Setting{ID: codec.SettingMaxFrameSize, Value: c.cfg.MaxFrameSize}
		n++
	}
	c.out = codec.AppendSettings(c.out, s[:n]...)
	if inc := c.recv.SetTarget(c.connWin); inc > 0 {
		c.out = codec.AppendWindowUpdate(c.out, 0, inc)
	}
}

// SettingsPayload returns our SETTINGS as a frame payload, for the
// HTTP2-Settings header of an h2c upgrade (RFC 7540 §3.2.1).
func (c *H2Conn) SettingsPayload() []byte {
	save := c.out
	c.out = nil
	c.appendSettings()
	p := c.out[codec.FrameHeaderLen:]
	h := codec.ParseFrameHeader(c.out)
	p = p[:h.Length]
	c.out = save
	c.recv = window.NewRecv(window.InitialWindow) // appendSettings moved it
	return p
}

// StartUpgraded starts a connection upgraded from HTTP/1.1 (RFC 7540 §3.2):
// stream 1 carries the response to the upgrade request, which was request
// reqIdx sent with token, and is half-closed (local). The client still sends
// the preface: "Upon receiving the 101 response, the client MUST send a
// connection preface (Section 3.5), which includes a SETTINGS frame."
func (c *H2Conn) StartUpgraded(reqIdx int, token int32) {
	c.Start()
	s, _ := c.streams.Insert(1)
	*s = stream{token: token, reqIdx: int32(reqIdx), flags: sfEndSent, recv: window.NewRecv(c.strWin)}
	c.send.OpenStream(&s.send)
	c.active = 1
	c.nextID = 3
}

// Output returns the bytes waiting to be written. The slice is valid until
// the next call of any other method.
func (c *H2Conn) Output() []byte { return c.out[c.wpos:] }

// Wrote records that the first n bytes of Output were written.
func (c *H2Conn) Wrote(n int) {
	c.wpos += n
	if c.wpos >= len(c.out) {
		c.out = c.out[:0]
		c.wpos = 0
	}
}

// Active returns the number of open streams.
func (c *H2Conn) Active() int { return c.active }

// GoingAway reports whether no new stream may be opened on this connection.
func (c *H2Conn) GoingAway() bool { return c.goingAway || c.nextID > codec.MaxStreamID }

// GoAwayReceived returns whether the server sent GOAWAY, with its error code.
func (c *H2Conn) GoAwayReceived() (bool, codec.ErrCode) { return c.goAwayRecv, c.goAwayCode }

// CanSubmit returns how many more streams may be opened now.
func (c *H2Conn) CanSubmit() int {
	if c.GoingAway() {
		return 0
	}
	limit := c.capacity
	if int64(c.peerMax) < int64(limit) {
		limit = int(c.peerMax)
	}
	if n := limit - c.active; n > 0 {
		return n
	}
	return 0
}

// Submit opens a stream for request reqIdx of the set, identified by token
// in later events, and appends its frames to the output.
func (c *H2Conn) Submit(reqIdx int, token int32) error {
	if c.GoingAway() {
		return ErrGoingAway
	}
	if c.CanSubmit() == 0 {
		return ErrNoStreamSlot
	}
	id := c.nextID
	s, err := c.streams.Insert(id)
	if err != nil {
		return ErrNoStreamSlot
	}
	c.nextID += 2
	c.active++
	*s = stream{token: token, reqIdx: int32(reqIdx), recv: window.NewRecv(c.strWin)}
	c.send.OpenStream(&s.send)
	block := c.enc.encode(reqIdx, c.set.h2[reqIdx])
	body := c.set.reqs[reqIdx].Body
	if len(body) == 0 {
		s.flags |= sfEndSent
		c.out = codec.AppendHeaderBlock(c.out, id, true, block, c.peerFrame)
		if body != nil { // an empty body: still END_STREAM on the HEADERS
			return nil
		}
		return nil
	}
	c.out = codec.AppendHeaderBlock(c.out, id, false, block, c.peerFrame)
	c.sendBody(id, s)
	return nil
}

// sendBody appends as much of the stream's body as the windows allow and
// queues the stream when some is left.
func (c *H2Conn) sendBody(id uint32, s *stream) {
	body := c.set.reqs[s.reqIdx].Body
	for int(s.bodyOff) < len(body) {
		left := len(body) - int(s.bodyOff)
		n := c.send.Allowed(&s.send, min(left, int(c.peerFrame)))
		if n == 0 {
			if s.flags&sfBody == 0 {
				s.flags |= sfBody
				c.bodyQueue = append(c.bodyQueue, id)
			}
			return
		}
		end := n == left
		c.out = codec.AppendData(c.out, id, end, body[s.bodyOff:int(s.bodyOff)+n])
		c.send.Consume(&s.send, n)
		s.bodyOff += int32(n)
		if end {
			s.flags |= sfEndSent
		}
	}
	s.flags &^= sfBody
}

// resumeBodies retries the queued bodies after the windows grew.
func (c *H2Conn) resumeBodies() {
	q := c.bodyQueue
	c.bodyQueue = c.bodyQueue[:0]
	for _, id := range q {
		s := c.streams.Get(id)
		if s == nil || s.flags&sfBody == 0 {
			continue
		}
		s.flags &^= sfBody
		c.sendBody(id, s)
	}
}

// closeStream ends stream id (present in the table) and reports it.
func (c *H2Conn) closeStream(id uint32, s *stream, r Result, code codec.ErrCode) {
	tok := s.token
	c.send.CloseStream(&s.send)
	c.streams.Delete(id)
	c.active--
	c.h.Closed(tok, r, code)
}

// resetStream sends RST_STREAM and ends the stream with result r.
func (c *H2Conn) resetStream(id uint32, s *stream, code codec.ErrCode, r Result) {
	c.out = codec.AppendRSTStream(c.out, id, code)
	c.closeStream(id, s, r, code)
}

// Shutdown starts a graceful close: GOAWAY(NO_ERROR) is appended and no new
// stream may be opened; open streams continue.
func (c *H2Conn) Shutdown() {
	if !c.goingAway {
		c.goingAway = true
		c.out = codec.AppendGoAway(c.out, 0, codec.ErrCodeNo, nil)
	}
}

// Fail ends every open stream with result r (the connection is gone).
func (c *H2Conn) Fail(r Result) {
	c.goingAway = true
	ids := c.scratch[:0]
	c.streams.Range(func(id uint32, _ *stream) bool {
		ids = append(ids, id)
		return true
	})
	for _, id := range ids {
		if s := c.streams.Get(id); s != nil {
			c.closeStream(id, s, r, codec.ErrCodeNo)
		}
	}
	c.scratch = ids[:0]
}

// connError appends GOAWAY for a connection error found in the input and
// returns it.
func (c *H2Conn) connError(err error) error {
	var ce *codec.ConnError
	if !errors.As(err, &ce) {
		ce = &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: err.Error()}
	}
	c.goingAway = true
	c.out = codec.AppendGoAway(c.out, 0, ce.Code, nil)
	return ce
}

func protoErr(reason string) error {
	return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: reason}
}

// Feed processes the frames in p and returns the number of bytes consumed.
// A frame that is not complete in p is left for the next call (DATA frames
// are consumed piecemeal), so the driver keeps the unconsumed tail and reads
// more after it. NeedBuffer says how large the buffer must be for the next
// frame. A returned error is a connection error: GOAWAY has been appended to
// the output; the driver writes it, closes the connection and calls Fail.
func (c *H2Conn) Feed(p []byte) (int, error) {
	n := 0
	for {
		if c.dataLeft > 0 {
			k := min(uint32(len(p)-n), c.dataLeft)
			if k == 0 {
				return n, nil
			}
			body := k
			if c.dataLeft-k < c.dataPad { // part of k is padding
				body -= c.dataPad - (c.dataLeft - k)
				c.dataPad = c.dataLeft - k
			}
			c.BytesBody += uint64(body)
			c.dataLeft -= k
			n += int(k)
			if c.dataLeft == 0 {
				c.endData()
			}
			continue
		}
		if len(p)-n < codec.FrameHeaderLen {
			return n, nil
		}
		h := codec.ParseFrameHeader(p[n:])
		if err := codec.CheckFrameSize(h, c.cfg.MaxFrameSize); err != nil {
			return n, c.connError(err)
		}
		if c.hdrStream != 0 && (h.Type != codec.FrameContinuation || h.StreamID != c.hdrStream) {
			// RFC 9113 §6.10: "A receiver MUST treat the receipt of any other
			// type of frame or a frame on a different stream as a connection
			// error of type PROTOCOL_ERROR."
			return n, c.connError(protoErr("expected CONTINUATION"))
		}
		if h.Type == codec.FrameData {
			need := codec.FrameHeaderLen
			if h.Flags.Has(codec.FlagPadded) {
				need++
			}
			if len(p)-n < need {
				return n, nil
			}
			if err := c.startData(h, p[n+codec.FrameHeaderLen:]); err != nil {
				return n, c.connError(err)
			}
			n += need
			continue
		}
		end := n + codec.FrameHeaderLen + int(h.Length)
		if end > len(p) {
			return n, nil
		}
		if err := c.frame(h, p[n+codec.FrameHeaderLen:end]); err != nil {
			return n, c.connError(err)
		}
		n = end
	}
}

// NeedBuffer returns the buffer size needed to hold the frame starting at p
// (at least the frame header).
func NeedBuffer(p []byte) int {
	if len(p) < codec.FrameHeaderLen {
		return codec.FrameHeaderLen
	}
	return codec.FrameHeaderLen + int(codec.ParseFrameHeader(p).Length)
}

// startData accounts a DATA frame whose header (and Pad Length) is at hand.
func (c *H2Conn) startData(h codec.FrameHeader, p []byte) error {
	// "If a DATA frame is received whose Stream Identifier field is 0x00,
	// the recipient MUST respond with a connection error of type
	// PROTOCOL_ERROR" (RFC 9113 §6.1).
	if h.StreamID == 0 {
		return codec.ErrStreamIDZero
	}
	var pad uint32
	payload := h.Length
	if h.Flags.Has(codec.FlagPadded) {
		pad = uint32(p[0])
		// "If the length of the padding is the length of the frame payload
		// or greater, the recipient MUST treat this as a connection error of
		// type PROTOCOL_ERROR" (§6.1).
		if pad >= h.Length {
			return codec.ErrPadding
		}
		payload-- // the Pad Length octet was consumed with the header
	}
	// RFC 9113 §6.9: "A receiver that receives a flow-controlled frame MUST
	// always account for its contribution against the connection
	// flow-control window".
	if err := c.recv.Consume(h.Length); err != nil {
		return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "connection window exceeded"}
	}
	if inc := c.recv.Release(h.Length); inc > 0 {
		c.out = codec.AppendWindowUpdate(c.out, 0, inc)
	}
	c.dataStream, c.dataLeft, c.dataPad, c.dataEnd = h.StreamID, payload, pad, h.Flags.Has(codec.FlagEndStream)
	s := c.streams.Get(h.StreamID)
	if s == nil {
		if err := c.checkClosedID(h.StreamID); err != nil {
			return err
		}
		c.dataStream = 0
	} else if s.flags&sfFinal == 0 {
		// RFC 9113 §8.1: a response begins with a HEADERS frame; DATA first
		// is malformed, which "MUST be treated as a stream error (Section
		// 5.4.2) of type PROTOCOL_ERROR" (§8.1.1).
		c.resetStream(h.StreamID, s, codec.ErrCodeProtocol, ResultProtocol)
		c.dataStream = 0
	} else {
		if err := s.recv.Consume(h.Length); err != nil && c.acked {
			c.resetStream(h.StreamID, s, codec.ErrCodeFlowControl, ResultProtocol)
			c.dataStream = 0
		} else if !c.dataEnd {
			if inc := s.recv.Release(h.Length); inc > 0 {
				c.out = codec.AppendWindowUpdate(c.out, h.StreamID, inc)
			}
		}
	}
	if payload == 0 {
		c.endData()
	}
	return nil
}

// endData finishes the DATA frame being received.
func (c *H2Conn) endData() {
	id := c.dataStream
	c.dataStream, c.dataLeft, c.dataPad = 0, 0, 0
	if id == 0 || !c.dataEnd {
		return
	}
	if s := c.streams.Get(id); s != nil {
		c.endRecv(id, s)
	}
}

// endRecv handles END_STREAM from the server.
func (c *H2Conn) endRecv(id uint32, s *stream) {
	s.flags |= sfEndRecv
	if s.flags&sfEndSent == 0 {
		// The response is complete while the body is still going: stop it
		// (RFC 9113 §8.1: "A server can send a complete response prior to
		// the client sending an entire request ... clients ... MAY ...
		// send RST_STREAM with NO_ERROR").
		c.out = codec.AppendRSTStream(c.out, id, codec.ErrCodeNo)
	}
	c.closeStream(id, s, ResultOK, codec.ErrCodeNo)
}

// checkClosedID distinguishes a frame on a stream that was closed (fine,
// ignored) from one on a stream the client never opened.
func (c *H2Conn) checkClosedID(id uint32) error {
	if id&1 == 0 || id >= c.nextID {
		// RFC 9113 §5.1: frames other than HEADERS/PRIORITY on an idle
		// stream, and streams the server may not open (push is disabled),
		// are a connection error of type PROTOCOL_ERROR.
		return protoErr("frame on a stream the client did not open")
	}
	return nil
}

// frame handles one complete non-DATA frame.
func (c *H2Conn) frame(h codec.FrameHeader, p []byte) error {
	switch h.Type {
	case codec.FrameHeaders:
		f, err := codec.ParseHeaders(h, p)
		if err != nil {
			return err
		}
		if f.StreamID&1 == 0 || f.StreamID >= c.nextID {
			return protoErr("HEADERS on a stream the client did not open")
		}
		if !f.EndHeaders {
			c.hdrStream, c.hdrEnd = f.StreamID, f.EndStream
			c.hdrBuf = append(c.hdrBuf[:0], f.Fragment...)
			return nil
		}
		return c.headerBlock(f.StreamID, f.EndStream, f.Fragment)
	case codec.FrameContinuation:
		frag, err := codec.ParseContinuation(h, p)
		if err != nil {
			return err
		}
		if c.hdrStream == 0 {
			return protoErr("CONTINUATION without HEADERS")
		}
		c.hdrBuf = append(c.hdrBuf, frag...)
		if !h.Flags.Has(codec.FlagEndHeaders) {
			return nil
		}
		id := c.hdrStream
		c.hdrStream = 0
		return c.headerBlock(id, c.hdrEnd, c.hdrBuf)
	case codec.FrameSettings:
		return c.settings(h, p)
	case codec.FramePing:
		data, err := codec.ParsePing(h, p)
		if err != nil {
			return err
		}
		if !h.Flags.Has(codec.FlagAck) {
			// RFC 9113 §6.7: "Receivers of a PING frame that does not
			// include an ACK flag MUST send a PING frame with the ACK flag
			// set in response, with an identical frame payload."
			c.out = codec.AppendPing(c.out, true, data)
		}
		return nil
	case codec.FrameGoAway:
		g, err := codec.ParseGoAway(h, p)
		if err != nil {
			return err
		}
		c.goAway(g.LastStreamID, g.Code)
		return nil
	case codec.FrameRSTStream:
		code, err := codec.ParseRSTStream(h, p)
		if err != nil {
			return err
		}
		s := c.streams.Get(h.StreamID)
		if s == nil {
			return c.checkClosedID(h.StreamID)
		}
		switch {
		case code == codec.ErrCodeRefusedStream:
			c.closeStream(h.StreamID, s, ResultRefused, code)
		case code == codec.ErrCodeNo && s.flags&sfEndRecv != 0:
			c.closeStream(h.StreamID, s, ResultOK, code)
		default:
			c.closeStream(h.StreamID, s, ResultReset, code)
		}
		return nil
	case codec.FrameWindowUpdate:
		inc, err := codec.ParseWindowUpdate(h, p)
		if err != nil {
			var se *codec.StreamError
			if errors.As(err, &se) {
				if s := c.streams.Get(h.StreamID); s != nil {
					c.resetStream(h.StreamID, s, codec.ErrCodeProtocol, ResultProtocol)
				}
				return nil
			}
			return err
		}
		if h.StreamID == 0 {
			if c.send.AddConn(inc) != nil {
				return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "connection send window above 2^31-1"}
			}
		} else if s := c.streams.Get(h.StreamID); s != nil {
			if c.send.AddStream(&s.send, inc) != nil {
				c.resetStream(h.StreamID, s, codec.ErrCodeFlowControl, ResultProtocol)
				return nil
			}
		}
		if len(c.bodyQueue) > 0 {
			c.resumeBodies()
		}
		return nil
	case codec.FramePushPromise:
		// RFC 9113 §6.6: "PUSH_PROMISE MUST NOT be sent if the
		// SETTINGS_ENABLE_PUSH setting of the peer endpoint is set to 0. An
		// endpoint that has set this setting and has received
		// acknowledgment MUST treat the receipt of a PUSH_PROMISE frame as a
		// connection error of type PROTOCOL_ERROR."
		return protoErr("PUSH_PROMISE with push disabled")
	case codec.FramePriority:
		_, err := codec.ParsePriority(h, p)
		var se *codec.StreamError
		if errors.As(err, &se) {
			return nil
		}
		return err
	}
	return nil // unknown frame types are ignored (§4.1)
}

// headerBlock decodes a complete field block received on stream id.
func (c *H2Conn) headerBlock(id uint32, endStream bool, block []byte) error {
	status, decoded, err := c.dec.decode(block)
	if err != nil {
		return &codec.ConnError{Code: codec.ErrCodeCompression, Reason: err.Error()}
	}
	c.BytesHead += uint64(len(block))
	c.BytesHeadDecomp += uint64(decoded)
	s := c.streams.Get(id)
	if s == nil {
		return nil // a stream closed or reset by us: decoded for HPACK state only
	}
	if s.flags&sfFinal == 0 {
		if status >= 100 && status < 200 {
			if endStream {
				// RFC 9113 §8.1: an informational response "MUST NOT"
				// end the stream; malformed.
				c.resetStream(id, s, codec.ErrCodeProtocol, ResultProtocol)
			}
			return nil
		}
		s.flags |= sfFinal
		c.h.Response(s.token, status)
	} else if !endStream {
		// RFC 9113 §8.1: trailers "MUST" carry END_STREAM.
		c.resetStream(id, s, codec.ErrCodeProtocol, ResultProtocol)
		return nil
	}
	if endStream {
		c.endRecv(id, s)
	}
	return nil
}

// settings applies a SETTINGS frame from the server and acknowledges it.
func (c *H2Conn) settings(h codec.FrameHeader, p []byte) error {
	f, err := codec.ParseSettings(h, p)
	if err != nil {
		return err
	}
	if f.Ack {
		c.acked = true
		return nil
	}
	grew := false
	for i := 0; i < f.Len(); i++ {
		s := f.At(i)
		switch s.ID {
		case codec.SettingHeaderTableSize:
			c.enc.setPeerTableSize(s.Value)
		case codec.SettingEnablePush:
			// RFC 9113 §6.5.2: "A client MUST treat receipt of a SETTINGS
			// frame with SETTINGS_ENABLE_PUSH set to 1 as a connection error
			// (Section 5.4.1) of type PROTOCOL_ERROR."
			if s.Value == 1 {
				return protoErr("server set SETTINGS_ENABLE_PUSH to 1")
			}
		case codec.SettingMaxConcurrentStreams:
			c.peerMax = s.Value
		case codec.SettingInitialWindowSize:
			if c.send.SetInitialStreamWindow(s.Value) != nil {
				return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window"}
			}
			grew = true
		case codec.SettingMaxFrameSize:
			c.peerFrame = s.Value
		}
	}
	// RFC 9113 §6.5.3: "Upon receiving a SETTINGS frame, the recipient MUST
	// ... respond with a SETTINGS frame with the ACK flag set."
	c.out = codec.AppendSettingsAck(c.out)
	if grew && len(c.bodyQueue) > 0 {
		c.resumeBodies()
	}
	return nil
}

// goAway handles GOAWAY from the server: streams above the last id were not
// processed and end with ResultRefused (RFC 9113 §6.8: "Activity on streams
// numbered lower than or equal to the last stream identifier might still
// complete successfully ... streams ... with identifiers higher than the
// included last stream identifier ... were not processed").
func (c *H2Conn) goAway(last uint32, code codec.ErrCode) {
	c.goingAway, c.goAwayRecv, c.goAwayLast, c.goAwayCode = true, true, last, code
	ids := c.scratch[:0]
	c.streams.Range(func(id uint32, _ *stream) bool {
		if id > last {
			ids = append(ids, id)
		}
		return true
	})
	for _, id := range ids {
		if s := c.streams.Get(id); s != nil {
			c.closeStream(id, s, ResultRefused, code)
		}
	}
	c.scratch = ids[:0]
}

// Traffic returns the received-traffic counters: compressed field block
// octets, their decoded size, and DATA payload octets.
func (c *H2Conn) Traffic() (head, headDecomp, body uint64) {
	return c.BytesHead, c.BytesHeadDecomp, c.BytesBody
}
