package engine

import (
	"errors"
	"strings"
	"sync"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/window"
	"golang.org/x/net/http2/hpack"
)

type hpackField = hpack.HeaderField

func (c *Conn) onHeaders(h codec.FrameHeader, p []byte) error {
	hf, err := codec.ParseHeaders(h, p)
	if err != nil {
		return err
	}
	id := hf.StreamID
	// "Streams initiated by a client MUST use odd-numbered stream identifiers"
	// (§5.1.1); an even one is "an unexpected stream identifier" that "MUST" be
	// answered with "a connection error of type PROTOCOL_ERROR".
	if id%2 == 0 {
		return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "even stream id from a client"}
	}
	c.contFrames = 1
	c.contEnd = hf.EndStream
	c.contDiscard = false
	var selfDep error
	if hf.HasPriority && hf.Priority.StreamDep == id {
		// "A stream cannot depend on itself" (§5.3.1).
		selfDep = &codec.StreamError{StreamID: id, Code: codec.ErrCodeProtocol, Reason: "stream depends on itself"}
	}
	st := c.streams.Get(id)
	switch {
	case st != nil:
		// A second HEADERS on an open stream is a trailer section.
		tr := transitions[st.state][evRecvHeaders]
		if selfDep != nil {
			c.discardBlock(id)
			return c.blockThen(hf, selfDep)
		}
		if tr.kind != okEvent {
			c.discardBlock(id)
			return c.blockThen(hf, &codec.StreamError{StreamID: id, Code: tr.code, Reason: "HEADERS on a " + st.state.String() + " stream"})
		}
		// "An endpoint that receives a HEADERS frame without the END_STREAM
		// flag set after receiving the HEADERS frame that opens a request ...
		// MUST treat the corresponding request or response as malformed" (§8.1).
		if !hf.EndStream {
			c.m.inc(&c.m.Malformed)
			c.discardBlock(id)
			return c.blockThen(hf, &codec.StreamError{StreamID: id, Code: codec.ErrCodeProtocol, Reason: "trailers without END_STREAM"})
		}
		st.trailers = true
		r := st.req
		if r.Trailer == nil {
			r.Trailer = new(codec.HeaderBlock)
		}
		c.decv.Begin(id, codec.BlockTrailers, r.Trailer)
	case !c.isIdle(id):
		c.discardBlock(id)
		if c.weReset(id) {
			// A stream we reset: "An endpoint MUST minimally process and then
			// discard any frames it receives in this state. This means
			// updating header compression state for HEADERS" (§5.1).
			return c.blockThen(hf, c.uselessFrame())
		}
		if id < c.skipLo || id > c.skipHi {
			// A stream that was open and closed (the client ended or reset
			// it): "An endpoint MAY treat receipt of any other type of
			// frame on a closed stream as a connection error (Section
			// 5.4.1) of type STREAM_CLOSED" (§5.1).
			tr := transitions[stClosed][evRecvHeaders]
			return c.blockThen(hf, &codec.ConnError{Code: tr.code, Reason: "HEADERS on a closed stream"})
		}
		// An id the client skipped: "The identifier of a newly established stream MUST be numerically
		// greater than all streams that the initiating endpoint has opened
		// ... An endpoint that receives an unexpected stream identifier MUST
		// respond with a connection error of type PROTOCOL_ERROR" (§5.1.1).
		return c.blockThen(hf, &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "stream id lower than one already used"})
	default:
		if c.weReset(id) {
			// An idle stream we reset (a PRIORITY that made it depend on
			// itself, §5.3.1): it is closed, and its frames are discarded
			// as those of any stream we reset (§5.1), after the block is
			// decoded to keep HPACK in sync.
			c.discardBlock(id)
			return c.blockThen(hf, c.uselessFrame())
		}
		if id > c.lastClientID+2 {
			// The ids skipped are closed without having been used
			// (§5.1.1); the last range of them is kept, for the error
			// HEADERS on one of them gets.
			c.skipLo, c.skipHi = c.lastClientID+1, id-1
		}
		c.lastClientID = id
		if c.goAwaySent && id > c.goAwayLast {
			// After our final GOAWAY new streams are ignored (§6.8), but the
			// block is decoded to keep HPACK state in sync.
			c.discardBlock(id)
			return c.blockThen(hf, nil)
		}
		if selfDep != nil {
			c.discardBlock(id)
			return c.blockThen(hf, selfDep)
		}
		if uint32(c.streams.Len()) >= c.cfg.MaxConcurrentStreams {
			// "An endpoint that receives a HEADERS frame that causes its
			// advertised concurrent stream limit to be exceeded MUST treat this
			// as a stream error of type PROTOCOL_ERROR or REFUSED_STREAM" (§5.1.2).
			c.m.inc(&c.m.Refused)
			c.discardBlock(id)
			return c.blockThen(hf, &codec.StreamError{StreamID: id, Code: codec.ErrCodeRefusedStream, Reason: "concurrent stream limit"})
		}
		st, err = c.insertStream(id)
		if err != nil {
			c.discardBlock(id)
			return c.blockThen(hf, &codec.StreamError{StreamID: id, Code: codec.ErrCodeRefusedStream, Reason: err.Error()})
		}
		r := c.openStream(st, id, stOpen)
		st.req = r
		r.useHeaderArena()
		c.decv.Begin(id, codec.BlockRequest, &r.Header)
	}
	if err := c.decv.Write(hf.Fragment); err != nil {
		return err
	}
	if !hf.EndHeaders {
		c.continued(id)
		return nil
	}
	return c.endBlock(id)
}

// continued notes a field block on stream id that continues in
// CONTINUATION frames, from now (HeaderTimeout).
func (c *Conn) continued(id uint32) {
	c.contStream = id
	c.rareState().contStart = c.now
}

// discardBlock switches the decoder to a scratch block: the field block is
// decoded only to keep the HPACK state in sync with the client.
func (c *Conn) discardBlock(id uint32) {
	c.contDiscard = true
	rare := c.rareState()
	if rare.scratch == nil {
		rare.scratch = scratchBlocks.Get().(*codec.HeaderBlock)
	}
	c.decv.Begin(id, codec.BlockTrailers, rare.scratch)
}

// scratchBlocks holds the header blocks of discarded field blocks, which
// are rare: a connection holds one only while it decodes such a block.
var scratchBlocks = sync.Pool{New: func() any { return new(codec.HeaderBlock) }}

// dropScratch gives the scratch block back once a discarded field block
// has ended.
func (c *Conn) dropScratch() {
	if c.rare == nil {
		return
	}
	if b := c.rare.scratch; b != nil {
		c.rare.scratch = nil
		b.Reset()
		if cap(b.Fields) <= 64 {
			scratchBlocks.Put(b)
		}
	}
}

// blockThen decodes the rest of a discarded block (first fragment now,
// CONTINUATION frames later) and then reports err.
func (c *Conn) blockThen(hf codec.HeadersFrame, err error) error {
	if werr := c.decv.Write(hf.Fragment); werr != nil {
		if _, ok := werr.(*codec.ConnError); ok {
			return werr
		}
	}
	if !hf.EndHeaders {
		c.continued(hf.StreamID)
		c.rare.pendingErr = err
		return nil
	}
	if eerr := c.decv.End(); eerr != nil {
		if _, ok := eerr.(*codec.ConnError); ok {
			return eerr
		}
		if cerr := c.oversized(eerr); cerr != nil {
			return cerr
		}
	}
	c.dropScratch()
	return err
}

// oversized counts a header section above MaxHeaderListSize, answered or
// discarded, against MaxRejectedHeaderSections; beyond it the connection
// is closed with ENHANCE_YOUR_CALM.
func (c *Conn) oversized(err error) error {
	if !errors.Is(err, codec.ErrHeaderListTooLarge) {
		return nil
	}
	if bump(&c.rejectedHdr) > c.cfg.MaxRejectedHeaderSections {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many header sections above MaxHeaderListSize")
	}
	return nil
}

func (c *Conn) onContinuation(h codec.FrameHeader, p []byte) error {
	frag, err := codec.ParseContinuation(h, p)
	if err != nil {
		return err
	}
	if c.contStream == 0 {
		// "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or
		// CONTINUATION frame without the END_HEADERS flag set. A recipient
		// that observes violation of this rule MUST respond with a connection
		// error of type PROTOCOL_ERROR" (§6.10).
		return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "CONTINUATION without a field block in progress"}
	}
	if bump(&c.contFrames) > c.cfg.MaxHeaderBlockFrames {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many CONTINUATION frames")
	}
	if err := c.decv.Write(frag); err != nil {
		if _, ok := err.(*codec.ConnError); ok || !c.contDiscard {
			return err
		}
	}
	if !h.Flags.Has(codec.FlagEndHeaders) {
		return nil
	}
	id := c.contStream
	c.contStream = 0
	if c.contDiscard {
		if eerr := c.decv.End(); eerr != nil {
			if _, ok := eerr.(*codec.ConnError); ok {
				return eerr
			}
			if cerr := c.oversized(eerr); cerr != nil {
				return cerr
			}
		}
		c.dropScratch()
		var err error
		if c.rare != nil {
			err = c.rare.pendingErr
			c.rare.pendingErr = nil
		}
		return err
	}
	return c.endBlock(id)
}

// endBlock completes a request header or trailer section.
func (c *Conn) endBlock(id uint32) error {
	c.contStream = 0
	st := c.streams.Get(id)
	err := c.decv.End()
	if err != nil {
		if _, ok := err.(*codec.ConnError); ok {
			return err
		}
		if st == nil {
			return nil
		}
		if errors.Is(err, codec.ErrHeaderListTooLarge) {
			c.m.inc(&c.m.HeaderTooLarge)
			if cerr := c.oversized(err); cerr != nil {
				return cerr
			}
			c.cfg.logf("h2: stream %d: request header section above %d bytes", id, c.cfg.MaxHeaderListSize)
			if !st.trailers {
				// Too large a header section gets 431 (RFC 6585 §5). A
				// request that ended with its headers is half-closed
				// (remote) first: the 431 then closes the stream, with
				// no RST_STREAM for a body that will not come.
				if c.contEnd {
					st.state = transitions[st.state][evRecvEndStream].next
				}
				c.respondStatus(st, 431)
				return nil
			}
			return &codec.StreamError{StreamID: id, Code: codec.ErrCodeProtocol, Reason: "trailer section too large"}
		}
		c.m.inc(&c.m.Malformed)
		var se *codec.StreamError
		if errors.As(err, &se) {
			return &codec.StreamError{StreamID: id, Code: se.Code, Reason: se.Reason}
		}
		return &codec.StreamError{StreamID: id, Code: codec.ErrCodeProtocol, Reason: err.Error()}
	}
	if st == nil {
		return nil
	}
	r := st.req
	if st.trailers {
		return c.recvEnd(st)
	}
	c.openPriority(st, &r.Header)
	if r.Header.Protocol != "" && !c.cfg.EnableConnectProtocol {
		// :protocol is defined only once SETTINGS_ENABLE_CONNECT_PROTOCOL
		// was sent (RFC 8441 §3); otherwise it is an undefined
		// pseudo-header field, which makes the request malformed (RFC 9113
		// §8.3).
		c.m.inc(&c.m.Malformed)
		return &codec.StreamError{StreamID: id, Code: codec.ErrCodeProtocol, Reason: ":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL"}
	}
	st.clen = r.Header.ContentLength
	if c.cfg.MaxRequestBodySize >= 0 && st.clen > c.cfg.MaxRequestBodySize {
		// A declared body above the limit is refused before anything is
		// read (with expect: 100-continue, before the client sends it).
		c.m.inc(&c.m.BodyTooLarge)
		c.cfg.logf("h2: stream %d: content-length %d above MaxRequestBodySize (%d)", id, st.clen, c.cfg.MaxRequestBodySize)
		c.respondStatus(st, 413)
		return nil
	}
	if c.contEnd {
		return c.recvEnd(st)
	}
	if v, ok := r.Header.Get("expect"); ok && strings.EqualFold(v, "100-continue") {
		// "A server that receives a 100-continue expectation in an HTTP/1.1
		// request ... SHOULD send a 100 (Continue) response" unless it answers
		// finally first (RFC 9110 §10.1.1); a body declared above the
		// limit got its 413 above. The client may then send the body.
		c.writeContinue(st)
	}
	st.buffering = true
	// The handler starts when the frames at hand are processed: a body
	// that arrived with its headers then reaches it complete, and one
	// still arriving is read as it comes (ctx.Read, or ctx.Body, which
	// waits for the end). Waiting for more of the body before starting
	// would deadlock every full-duplex protocol (gRPC streams, a client
	// that waits for a reply before it sends more).
	st.lazy = true
	c.set.lazy = append(c.set.lazy, st.id) // st is open: c.set is there
	return nil
}

// dispatchLazy starts the handlers of streaming requests whose headers
// arrived in the frames just processed and that are not dispatched yet.
func (c *Conn) dispatchLazy() {
	// The set goes back to its pool (emptied) if the last stream closes.
	for i := 0; c.set != nil && i < len(c.set.lazy); i++ {
		if st := c.streams.Get(c.set.lazy[i]); st != nil && st.lazy && !st.req.started() {
			st.lazy = false
			c.dispatch(st, !st.req.bodyEOF)
		}
	}
	if c.set != nil {
		c.set.lazy = c.set.lazy[:0]
	}
}

// recvEnd handles END_STREAM from the client.
func (c *Conn) recvEnd(st *stream) error {
	tr := transitions[st.state][evRecvEndStream]
	if tr.kind != okEvent {
		return &codec.StreamError{StreamID: st.id, Code: tr.code, Reason: "END_STREAM on a " + st.state.String() + " stream"}
	}
	st.state = tr.next
	r := st.req
	// "A request or response is also malformed if the value of a
	// content-length header field does not equal the sum of the DATA frame
	// payload lengths that form the content" (§8.1.1).
	if st.clen >= 0 && st.clen != r.bodyLen {
		c.m.inc(&c.m.Malformed)
		return &codec.StreamError{StreamID: st.id, Code: codec.ErrCodeProtocol, Reason: "content-length does not match the body"}
	}
	r.bodyEOF = true
	if r.started() {
		c.cb.Wake(r)
	} else {
		c.dispatch(st, false)
	}
	if st.state == stClosed {
		c.closeStream(st, false, 0)
	}
	return nil
}

func (c *Conn) dispatch(st *stream, streaming bool) {
	r := st.req
	if st.buffering {
		n := int64(len(r.body) - r.bodyOff)
		c.buffered -= n
		st.buffering = false
		if streaming {
			// These bytes had their window credit returned on arrival:
			// reading them returns none again.
			r.credited = n
			c.unread += n
		}
	}
	if !c.altSvcDone && c.cfg.AltSvc != "" {
		c.connAltSvc(r)
	}
	c.lifeStep(r, lifeStart)
	r.streaming = streaming
	c.m.inc(&c.m.Requests)
	if c.useless > 0 {
		c.useless--
	}
	if c.rejectedHdr > 0 {
		c.rejectedHdr--
	}
	c.cb.Dispatch(r)
}

func (c *Conn) onData(h codec.FrameHeader, p []byte) error {
	df, err := codec.ParseData(h, p)
	if err != nil {
		return err
	}
	// The whole frame counts against the connection window, whatever the
	// stream's state (§6.9).
	if err := c.recvConn.Consume(df.FlowLen); err != nil {
		return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "DATA beyond the connection window"}
	}
	st := c.streams.Get(df.StreamID)
	if st == nil {
		c.releaseConn(df.FlowLen)
		if c.isIdle(df.StreamID) {
			return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "DATA on an idle stream"}
		}
		if err := c.uselessFrame(); err != nil {
			return err
		}
		if c.weReset(df.StreamID) {
			// "An endpoint MUST ignore frames that it receives on closed
			// streams after it has sent a RST_STREAM frame" (§5.1).
			return nil
		}
		return &codec.StreamError{StreamID: df.StreamID, Code: codec.ErrCodeStreamClosed, Reason: "DATA on a closed stream"}
	}
	tr := transitions[st.state][evRecvData]
	if tr.kind != okEvent {
		c.releaseConn(df.FlowLen)
		if tr.kind == connErr { // reserved (local): a pushed stream
			return &codec.ConnError{Code: tr.code, Reason: "DATA on a " + st.state.String() + " stream"}
		}
		return &codec.StreamError{StreamID: st.id, Code: tr.code, Reason: "DATA on a " + st.state.String() + " stream"}
	}
	if err := st.recv.Consume(df.FlowLen); err != nil {
		c.releaseConn(df.FlowLen)
		return &codec.StreamError{StreamID: st.id, Code: codec.ErrCodeFlowControl, Reason: "DATA beyond the stream window"}
	}
	c.touch(st)
	if len(df.Data) == 0 && !df.EndStream {
		if err := c.uselessFrame(); err != nil {
			return err
		}
	}
	r := st.req
	pad := df.FlowLen - uint32(len(df.Data))
	if pad > 0 {
		c.releaseStream(st, pad)
		c.releaseConn(pad)
	}
	r.bodyLen += int64(len(df.Data))
	if st.clen >= 0 && r.bodyLen > st.clen {
		c.m.inc(&c.m.Malformed)
		c.releaseConn(uint32(len(df.Data)))
		return &codec.StreamError{StreamID: st.id, Code: codec.ErrCodeProtocol, Reason: "body longer than content-length"}
	}
	if !r.started() && c.cfg.MaxRequestBodySize >= 0 && r.bodyLen > c.cfg.MaxRequestBodySize {
		// Only a body buffered before its handler starts is limited here
		// (one read pass at most): once the handler runs, it reads the
		// body as it arrives, bounded by flow control, and ctx.Body
		// applies the limit to what it gathers.
		c.m.inc(&c.m.BodyTooLarge)
		c.releaseConn(uint32(len(df.Data)))
		c.cfg.logf("h2: stream %d: request body above MaxRequestBodySize (%d bytes) before its handler started", st.id, c.cfg.MaxRequestBodySize)
		c.respondStatus(st, 413)
		return nil
	}
	if st.respDone && r.HandlerDone() || r.bodyClosed {
		// The response is complete, or the handler closed the body: the
		// rest of the body is not wanted.
		c.releaseStream(st, uint32(len(df.Data)))
		c.releaseConn(uint32(len(df.Data)))
		if st.draining && !df.EndStream && r.bodyLen-r.bodyAtEnd > drainLimit {
			c.endUnwanted(st) // more than a small body: ask the client to stop
			return nil
		}
	} else if len(df.Data) > 0 {
		n := int64(len(df.Data))
		if r.bodyOff > 0 && r.bodyOff == len(r.body) {
			r.body = r.body[:0]
			r.bodyOff = 0
		}
		r.appendBody(df.Data)
		switch {
		case r.started() && r.streaming:
			// The stream's window is returned as the handler reads: that
			// bounds what one stream buffers. The connection's window is
			// returned now, while the connection's unread body bytes stay
			// within MaxConnBodyBuffer: streams whose handlers do not read
			// (queued, busy, or not interested yet) must not use up the
			// window that a reading handler's stream needs.
			c.unread += n
			if c.unread <= c.cfg.MaxConnBodyBuffer {
				c.releaseConn(uint32(n))
			} else {
				r.connHeld += n
			}
			c.cb.Wake(r)
		case r.started():
			c.releaseStream(st, uint32(n))
			c.releaseConn(uint32(n))
			c.cb.Wake(r)
		default:
			// Buffered before dispatch (within this read pass): return the
			// credit at once, and start the handler early when the buffer
			// grows past its budget.
			c.releaseStream(st, uint32(n))
			c.releaseConn(uint32(n))
			c.buffered += n
			if !df.EndStream && (len(r.body) >= c.cfg.BodyStreamThreshold || c.buffered > int64(c.cfg.InitialConnWindow)) {
				st.lazy = false
				c.dispatch(st, true)
			}
		}
	}
	if df.EndStream {
		return c.recvEnd(st)
	}
	return nil
}

func (c *Conn) releaseConn(n uint32) {
	if n == 0 {
		return
	}
	if incr := c.recvConn.Release(n); incr > 0 {
		c.out = codec.AppendWindowUpdate(c.out, 0, incr)
	}
}

func (c *Conn) releaseStream(st *stream, n uint32) {
	if n == 0 || st.state == stHalfClosedRemote || st.state == stClosed {
		return
	}
	if incr := st.recv.Release(n); incr > 0 {
		c.out = codec.AppendWindowUpdate(c.out, st.id, incr)
	}
}

// ReadBody copies request body bytes of a dispatched request into p and
// returns window credit to the client (unless r.ManualAck). It returns
// (0, false) when nothing is buffered yet and the body has not ended: the
// caller waits for Callbacks.Wake and tries again.
func (c *Conn) ReadBody(r *Request, p []byte) (n int, eof bool) {
	c.begin()
	n = copy(p, r.body[r.bodyOff:])
	r.bodyOff += n
	if r.bodyOff == len(r.body) {
		r.body = r.body[:0]
		r.bodyOff = 0
	}
	if n > 0 && r.streaming {
		c.unread -= int64(n)
		owed := int64(n)
		if r.credited > 0 {
			k := min(owed, r.credited)
			r.credited -= k
			owed -= k
		}
		if r.ManualAck {
			r.unacked += owed
		} else {
			c.ackBody(r, int(owed))
		}
	}
	return n, r.bodyEOF && r.bodyOff == len(r.body)
}

// CloseBody discards the unread body of a dispatched request and what the
// client still sends on it, returning their window credit; the stream stays
// open for the response. ReadBody then returns nothing: the transport
// checks BodyClosed.
func (c *Conn) CloseBody(r *Request) {
	c.begin()
	if r.bodyClosed {
		return
	}
	r.bodyClosed = true
	buffered := int64(len(r.body) - r.bodyOff)
	unread := buffered + r.unacked - r.credited
	r.body = r.body[:0]
	r.bodyOff = 0
	r.unacked = 0
	r.credited = 0
	if r.streaming {
		// Bytes buffered before dispatch, or received for a request that
		// was not streaming, had their credit returned on arrival.
		c.unread -= buffered
		c.ackBody(r, int(unread))
	}
}

// AckBody returns n bytes of window credit for a request in manual mode
// (like python-h2's acknowledge_received_data).
func (c *Conn) AckBody(r *Request, n int) {
	c.begin()
	if int64(n) > r.unacked {
		n = int(r.unacked)
	}
	r.unacked -= int64(n)
	c.ackBody(r, n)
}

// ackBody returns the window credit of n body bytes the handler is done
// with: the stream's, and the connection's where it was held back.
func (c *Conn) ackBody(r *Request, n int) {
	if n <= 0 || r.StreamDone() {
		return
	}
	if k := min(int64(n), r.connHeld); k > 0 {
		r.connHeld -= k
		c.releaseConn(uint32(k))
	}
	if st := c.streams.Get(r.StreamID); st != nil && st.req == r {
		c.releaseStream(st, uint32(n))
	}
}

// markReset records that we sent RST_STREAM on id: the client's frames
// still in flight on it are then discarded.
func (c *Conn) markReset(id uint32) { c.recentStreams().reset.add(id) }

// weReset reports whether id is one of the last streams we reset.
func (c *Conn) weReset(id uint32) bool {
	return c.rare != nil && c.rare.recent != nil && c.rare.recent.reset.has(id)
}

// openStream starts st (just inserted as id) in state with its windows and
// the default priority, and returns the request it carries.
func (c *Conn) openStream(st *stream, id uint32, state streamState) *Request {
	st.id = id
	st.state = state
	st.clen = -1
	st.prio = codec.DefaultPriority
	c.touch(st)
	c.sendConn.OpenStream(&st.send)
	st.recv = window.NewRecv(c.cfg.InitialStreamWindow)
	r := c.cb.AcquireRequest()
	r.conn = c
	r.StreamID = id
	return r
}
