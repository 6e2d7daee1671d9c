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

// stream flags
const (
	sfFinal   = 1 << iota // final response headers received
	sfEndRecv             // END_STREAM received
	sfEndSent             // END_STREAM sent
	sfBody                // request body pending in the queue
	sfHasBody             // the request has a body (counted in H2Conn.bodies)
	sfPushed              // a pushed stream (even id), counted in H2Conn.pushes
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
	ph       PushHandler // h, when it is one and push is enabled
	promEmit func(name, value []byte)
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
	hdrStream  uint32
	hdrEnd     bool // END_STREAM of the HEADERS frame
	hdrConts   int  // CONTINUATION frames so far
	hdrBuf     []byte
	hdrPromise uint32 // the promised stream when the block is a PUSH_PROMISE's

	// server push (EnablePush)
	pushes       int    // pushed streams held, reserved or open
	lastPromised uint32 // highest promised stream id
	prom         promiseFields

	// DATA frame being received in pieces
	dataStream uint32
	dataLeft   uint32 // octets of the frame still to come
	dataPad    uint32 // trailing padding among them
	dataEnd    bool
	dataPushed bool // the frame is on an even (pushed) stream

	goingAway  bool // GOAWAY received or sent
	goAwayLast uint32
	goAwayCode codec.ErrCode
	goAwayRecv bool

	bodyQueue []uint32 // streams whose body waits for window
	scratch   []uint32
	bodies    int // open streams whose request has a body

	// flood accounting (see the limits of H2Config)
	ctrlQueued int // SETTINGS and PING ACKs appended and not known written
	ctrlEnd    int // end of the last of them in out
	idle       int // frames in a row that advanced no request

	// Counters (traffic as h2load counts it). Read them between calls.
	BytesHead       uint64 // field block octets received (compressed)
	BytesHeadDecomp uint64 // their decoded size (names + values)
	BytesBody       uint64 // DATA payload octets received (padding excluded), pushed streams excepted
	// Server push (EnablePush): promises accepted and refused, and the DATA
	// payload octets of pushed streams.
	PushesReceived uint64
	PushesRefused  uint64
	BytesPushed    uint64
}

// NewH2Conn returns a connection that will send requests of set. Call Start
// (or StartUpgraded) before anything else.
func NewH2Conn(cfg H2Config, set *RequestSet, h Handler) *H2Conn {
	cfg.normalize()
	tableCap := cfg.MaxConcurrentStreams
	if cfg.EnablePush {
		// the client's streams and as many pushed ones (a full table
		// refuses further promises: ErrPushLimit)
		tableCap = min(2*tableCap, streamtable.MaxCapacity)
	}
	c := &H2Conn{
		cfg:       cfg,
		set:       set,
		h:         h,
		strWin:    uint32(1)<<min(cfg.StreamWindowBits, 31) - 1,
		connWin:   uint32(1)<<min(cfg.ConnWindowBits, 31) - 1,
		capacity:  cfg.MaxConcurrentStreams,
		streams:   streamtable.New[stream](tableCap),
		nextID:    1,
		peerMax:   1<<31 - 1,
		peerFrame: codec.DefaultMaxFrameSize,
		send:      window.NewSendConn(window.InitialWindow),
		recv:      window.NewRecv(window.InitialWindow),
		dec:       newRespDecoder(cfg.HeaderTableSize, cfg.EnablePush),
		enc:       newReqEncoder(cfg.EncoderTableSize, set.Len()),
		out:       make([]byte, 0, 16<<10),
	}
	if cfg.EnablePush {
		c.ph, _ = h.(PushHandler)
		c.promEmit = c.prom.field
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
	s := [5]codec.Setting{
		{ID: codec.SettingEnablePush, Value: 0},
		{ID: codec.SettingInitialWindowSize, Value: c.strWin},
	}
	n := 2
	if c.cfg.EnablePush {
		// RFC 9113 §6.5.2: SETTINGS_ENABLE_PUSH "1 indicates that server
		// push is permitted"; the client's SETTINGS_MAX_CONCURRENT_STREAMS
		// bounds the streams the server may push (§5.1.2).
		s[0].Value = 1
		s[n] = codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: uint32(min(c.cfg.MaxConcurrentStreams, 1<<31-1))}
		n++
	}
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
	if c.wpos >= c.ctrlEnd {
		c.ctrlQueued = 0 // every acknowledgement is out
	}
	if c.wpos >= len(c.out) {
		c.out = c.out[:0]
		c.wpos = 0
		c.ctrlEnd = 0
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
	s.flags |= sfHasBody
	c.bodies++
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
	if s.flags&sfPushed != 0 {
		c.closePushed(id, s, r, code)
		return
	}
	tok := s.token
	if s.flags&sfHasBody != 0 {
		c.bodies--
	}
	c.idle = 0 // a request ended: progress
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
			if c.dataPushed {
				c.BytesPushed += uint64(body)
				if c.ph != nil && body > 0 && c.dataStream != 0 {
					c.ph.PushData(c.dataStream, p[n:n+int(body)])
				}
			} else {
				c.BytesBody += uint64(body)
			}
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
			return n, c.connError(errExpectedContinuation)
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

// Traffic returns the received-traffic counters: compressed field block
// octets, their decoded size, and DATA payload octets.
func (c *H2Conn) Traffic() (head, headDecomp, body uint64) {
	return c.BytesHead, c.BytesHeadDecomp, c.BytesBody
}
