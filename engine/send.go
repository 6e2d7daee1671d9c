package engine

import (
	"unsafe"

	"github.com/h2loop/h2loop/codec"
)

// maxFrame is the largest DATA payload the peer accepts.
func (c *Conn) maxFrame() int { return int(c.peerMaxFrm) }

// stream returns the live stream record of r, or nil when the stream is gone.
func (c *Conn) streamOf(r *Request) *stream {
	if r.StreamDone() {
		return nil
	}
	st := c.streams.Get(r.StreamID)
	if st == nil || st.req != r {
		return nil
	}
	return st
}

// writeHeaders encodes r's status and header fields as the response header
// section. endStream is set when no body or trailers follow.
func (c *Conn) writeHeaders(st *stream, r *Request, endStream, withLength bool) {
	e := &c.encv
	e.Reset()
	status := r.Status
	if status == 0 {
		status = 200
	}
	e.WriteStatus(status)
	hasDate := false
	for i := range r.RespHeader {
		kv := &r.RespHeader[i]
		if withLength && kv.Name == "content-length" {
			continue // computed from the body below
		}
		if kv.Name == "date" {
			hasDate = true
			if !kv.Bytes && kv.Value == "" {
				continue // no date at all
			}
		}
		if kv.Name == "priority" {
			// The handler's priority for the response (RFC 9218 §5)
			// overrides the client's for the scheduling of its DATA.
			if kv.Bytes {
				c.respPriority(st, r.HeaderValueBytes(kv), "")
			} else {
				c.respPriority(st, nil, kv.Value)
			}
		}
		c.encodeField(st.id, r, kv)
	}
	if !hasDate && c.cfg.Date != nil && status >= 200 {
		e.WriteField("date", c.cfg.Date())
	}
	if withLength {
		e.WriteContentLength(int64(len(r.RespBody)))
	}
	c.out = codec.AppendHeaderBlock(c.out, st.id, endStream, e.Bytes(), c.peerMaxFrm)
	c.touch(st)
	r.headersSent = true
	st.state = transitions[st.state][evSendHeaders].next
	if endStream {
		c.sentEnd(st)
	}
}

// writeContinue sends the interim response 100 (Continue) on st: a HEADERS
// frame without END_STREAM that leaves the stream's state and the final
// response untouched.
func (c *Conn) writeContinue(st *stream) {
	e := &c.encv
	e.Reset()
	e.WriteStatus(100)
	c.out = codec.AppendHeaderBlock(c.out, st.id, false, e.Bytes(), c.peerMaxFrm)
	c.touch(st)
}

// sentEnd records that END_STREAM went out on st.
func (c *Conn) sentEnd(st *stream) {
	st.respDone = true
	st.req.endSent = true
	st.state = transitions[st.state][evSendEndStream].next
	if st.state == stClosed {
		c.closeStream(st, false, 0)
		return
	}
	// The response is complete but the request body is still arriving. "A
	// server can send a complete response prior to the client sending an
	// entire request ... the server MAY request that the client abort
	// transmission of a request without error by sending a RST_STREAM with an
	// error code of NO_ERROR after sending a complete response" (§8.1).
	if st.req.HandlerDone() {
		c.endUnwanted(st)
	}
}

// drainLimit is how much request body a stream whose handler answered
// without reading it may still receive (discarded, credit returned) before
// the server asks the client to stop with RST_STREAM(NO_ERROR). Small
// bodies end on their own, so the stream keeps its protocol checks
// (content-length, trailers) to the end; large ones are cut short.
const drainLimit = 64 << 10

// endUnwanted ends the request side of a stream whose response is complete
// and whose handler returned while the body was still arriving: an answer
// the engine made itself (413, 431, 408) stops the body at once; a
// handler's answer lets up to drainLimit more arrive first.
func (c *Conn) endUnwanted(st *stream) {
	if !st.req.engineAnswer && st.req.bodyLen-st.req.bodyAtEnd <= drainLimit {
		if !st.draining {
			st.draining = true
			st.req.bodyAtEnd = st.req.bodyLen
		}
		return
	}
	c.out = codec.AppendRSTStream(c.out, st.id, codec.ErrCodeNo)
	c.markReset(st.id)
	c.closeStream(st, false, 0)
}

// Respond sends the complete response of a handler that has returned: status,
// headers, RespBody and Trailers. It marks the handler done; the Request is
// released once the stream finishes.
func (c *Conn) Respond(r *Request) {
	c.begin()
	if r.life != lifeRunning {
		c.lifeStep(r, lifeReturn) // orphaned: released now, and not touched after
		return
	}
	c.lifeStep(r, lifeReturn)
	r.finishing = true
	r.owned = true
	st := c.streamOf(r)
	if st == nil || st.respDone {
		if st != nil && st.state == stHalfClosedLocal {
			c.endUnwanted(st) // may release r (its handler is done): r must not be touched after
		}
		return
	}
	if !r.headersSent {
		noContent := noContentStatus(r.Status)
		if noContent || r.Header.Method == "HEAD" {
			// "The HEAD method is identical to GET except that the server
			// MUST NOT send content in the response" (RFC 9110 §9.3.2); 1xx,
			// 204 and 304 responses have none either, and "A server MUST NOT
			// send a Content-Length header field in any response with a
			// status code of 1xx (Informational) or 204 (No Content)" (§8.6).
			r.pendingOff = len(r.RespBody)
		}
		end := r.Pending() == 0 && len(r.Trailers) == 0
		c.writeHeaders(st, r, end, !noContent)
		if end {
			// END_STREAM went out with the handler done: the stream closed
			// (sentEnd resets it if the request was still arriving) and
			// closeStream released r, which must not be touched after.
			return
		}
	}
	c.enqueue(st)
	c.writeData()
}

// noContentStatus reports whether a response with this status has no content.
func noContentStatus(status int) bool {
	return status == 204 || status == 304 || status >= 100 && status < 200
}

// SendHeaders sends the response header section now (for streaming
// responses); the body follows with Flush and Respond.
func (c *Conn) SendHeaders(r *Request) bool {
	c.begin()
	st := c.streamOf(r)
	if st == nil || st.respDone {
		return false
	}
	if !r.headersSent {
		c.writeHeaders(st, r, false, false)
	}
	return true
}

// Flush frames as much of RespBody as the windows allow (sending headers first
// if needed). It reports whether the stream is still alive.
func (c *Conn) Flush(r *Request) bool {
	if !c.SendHeaders(r) {
		return false
	}
	r.owned = true
	st := c.streamOf(r)
	if st != nil && r.Pending() > 0 {
		c.enqueue(st)
		c.writeData()
	}
	return c.streamOf(r) != nil
}

// CompactBody drops the RespBody bytes already framed, so a streaming handler
// can reuse the buffer. Only call it while no stream data is queued in the
// output from RespBody, i.e. after the transport wrote the output.
func (c *Conn) CompactBody(r *Request) {
	if !r.finishing {
		r.owned = false
	}
	if r.pendingOff == 0 {
		return
	}
	r.notePeak()
	n := copy(r.RespBody, r.RespBody[r.pendingOff:])
	r.RespBody = r.RespBody[:n]
	r.pendingOff = 0
}

// Cancel resets r's stream with code (from a handler that gives up).
func (c *Conn) Cancel(r *Request, code codec.ErrCode) {
	c.begin()
	if st := c.streamOf(r); st != nil {
		c.resetStream(st.id, code, "canceled by the handler")
	}
}

// Refuse answers a dispatched request whose handler will not run (every
// worker is busy): RST_STREAM(REFUSED_STREAM). "The REFUSED_STREAM error
// code can be included in a RST_STREAM frame to indicate that the stream
// is being closed prior to any processing having occurred. Any request
// that was sent on the reset stream can be safely retried" (§8.7). The
// handler counts as done; r is released and must not be touched after.
func (c *Conn) Refuse(r *Request) {
	c.begin()
	if r.life != lifeRunning {
		c.lifeStep(r, lifeAnswer) // orphaned: released now
		return
	}
	c.lifeStep(r, lifeAnswer)
	if st := c.streamOf(r); st != nil && !st.respDone {
		c.resetStream(st.id, codec.ErrCodeRefusedStream, "no worker free (MaxWorkers)")
		// closeStream released r
	}
}

// HandlerDone records that r's handler returned without Respond (the
// response already finished or the stream died).
func (c *Conn) HandlerDone(r *Request) {
	c.begin()
	c.lifeStep(r, lifeReturn)
}

// respondStatus answers st with an empty response carrying status, without
// running a handler (431, 413).
func (c *Conn) respondStatus(st *stream, status int) {
	r := st.req
	if r.started() || r.headersSent {
		c.resetStream(st.id, codec.ErrCodeCancel, "limit crossed")
		return
	}
	c.lifeStep(r, lifeAnswer)
	r.engineAnswer = true
	r.Status = status
	r.RespHeader = r.RespHeader[:0]
	r.notePeak()
	r.RespBody = r.RespBody[:0]
	r.finishing = true
	// END_STREAM with the handler done: sentEnd closes the stream (with
	// RST_STREAM(NO_ERROR) if the request is still arriving) and closeStream
	// releases r.
	c.writeHeaders(st, r, true, true)
}

// requeueAll queues every stream with data waiting (after a window grew).
func (c *Conn) requeueAll() {
	c.streams.Range(func(_ uint32, st *stream) bool {
		if st.req != nil && st.req.sendable() && !st.respDone {
			c.enqueue(st)
		}
		return true
	})
	c.writeData()
}

// HasPendingData reports whether DATA is waiting and the connection window
// allows some: the transport writes the output and calls WritePending again.
func (c *Conn) HasPendingData() bool {
	return c.rmask != 0 && c.sendConn.ConnAvailable() > 0 && c.state != stateClosed
}

// WritePending frames queued DATA into the output (up to Config.WriteChunk).
func (c *Conn) WritePending() {
	c.begin()
	c.writeData()
}

// writeData frames DATA for queued streams, one frame at a time in the
// order of their priorities (prio.go), until the output buffer holds
// WriteChunk bytes (refChunks times that with the payloads held by
// reference), the connection window is exhausted or nothing is left.
func (c *Conn) writeData() {
	for c.rmask != 0 && len(c.out) < c.cfg.WriteChunk && c.OutputLen() < refChunks*c.cfg.WriteChunk && c.state != stateClosed {
		if c.sendConn.ConnAvailable() <= 0 {
			return
		}
		id, u := c.dequeue()
		st := c.streams.Get(id)
		if st == nil || !st.queued {
			continue
		}
		if st.prio.Urgency != u {
			continue // reprioritized while queued: it waits in its new queue
		}
		st.queued = false
		r := st.req
		if st.respDone || !r.owned {
			continue
		}
		pending := r.RespBody[r.pendingOff:]
		want := len(pending)
		if want > c.maxFrame() {
			want = c.maxFrame()
		}
		n := c.sendConn.Allowed(&st.send, want)
		if n == 0 && want > 0 {
			continue // blocked on the stream window: WINDOW_UPDATE requeues it
		}
		last := n == len(pending) && r.finishing
		endStream := last && len(r.Trailers) == 0
		if n > 0 || endStream {
			if r.staticBody && n >= minRefPayload {
				c.appendDataRef(id, endStream, pending[:n])
			} else {
				c.out = codec.AppendData(c.out, id, endStream, pending[:n])
			}
			c.touch(st)
			c.sendConn.Consume(&st.send, n)
			satu32(&c.dataFrames)
			c.dataBytes += uint64(n)
			r.pendingOff += n
			if c.m != nil {
				c.m.BytesSent.Add(uint64(n))
			}
		}
		if last {
			if len(r.Trailers) > 0 {
				c.writeTrailers(st, r)
			} else {
				c.sentEnd(st)
			}
			continue
		}
		if r.Pending() > 0 {
			c.requeue(st)
		} else {
			c.cb.Wake(r) // a streaming writer waits for its buffer to drain
		}
	}
}

// encodeField encodes one response field of r, or drops it (counted and
// logged by badField) when HTTP/2 cannot carry it. Values held as bytes
// are copied as literals without indexing; strings may enter the table.
func (c *Conn) encodeField(id uint32, r *Request, kv *HeaderKV) {
	if kv.Bytes {
		v := r.HeaderValueBytes(kv)
		if !codec.ValidResponseFieldBytes(kv.Name, v) {
			c.badField(id, kv.Name)
			return
		}
		c.encv.WriteFieldNoIndex(kv.Name, v)
		return
	}
	if !codec.ValidResponseField(kv.Name, kv.Value) {
		c.badField(id, kv.Name)
		return
	}
	c.writeField(r, kv.Name, kv.Value)
}

// writeField encodes a response field of r's: a string of r's header
// arena (a handler answering with a request's own value) never enters the
// dynamic table, whose entries outlive the request.
func (c *Conn) writeField(r *Request, name, value string) {
	if r.Header.InArena(name) || r.Header.InArena(value) {
		c.encv.WriteFieldNoIndex(name, unsafe.Slice(unsafe.StringData(value), len(value)))
		return
	}
	c.encv.WriteField(name, value)
}

func (c *Conn) writeTrailers(st *stream, r *Request) {
	e := &c.encv
	e.Reset()
	for i := range r.Trailers {
		kv := &r.Trailers[i]
		if !codec.ValidResponseField(kv.Name, kv.Value) {
			c.badField(st.id, kv.Name)
			continue
		}
		c.writeField(r, kv.Name, kv.Value)
	}
	c.out = codec.AppendHeaderBlock(c.out, st.id, true, e.Bytes(), c.peerMaxFrm)
	c.sentEnd(st)
}

// resetStream sends RST_STREAM for id and closes the stream.
func (c *Conn) resetStream(id uint32, code codec.ErrCode, reason string) {
	c.m.inc(&c.m.ResetsSent)
	c.cfg.logf("h2: stream %d reset: %v: %s", id, code, reason)
	c.out = codec.AppendRSTStream(c.out, id, code)
	c.markReset(id)
	if err := c.control(); err != nil {
		c.fail(err)
		return
	}
	if st := c.streams.Get(id); st != nil {
		st.respDone = true
		c.closeStream(st, true, code)
	}
}

// closeStream removes st; canceled says whether its request dies unfinished.
func (c *Conn) closeStream(st *stream, canceled bool, code codec.ErrCode) {
	r := st.req
	id := st.id
	if r != nil {
		// Unread body bytes of a streaming request still hold connection
		// window credit: give it back.
		if r.streaming && !r.StreamDone() {
			c.unread -= int64(len(r.body) - r.bodyOff)
			if r.connHeld > 0 {
				c.releaseConn(uint32(r.connHeld))
				r.connHeld = 0
			}
		}
		if st.buffering {
			c.buffered -= int64(len(r.body) - r.bodyOff)
		}
		if canceled && !r.endSent {
			r.Canceled = true
			r.CancelCode = code
		}
	}
	c.sendConn.CloseStream(&st.send)
	if id%2 == 0 && c.rare != nil {
		c.rare.pushActive-- // only a promise opens an even stream, and it made the rare state
	}
	c.streams.Delete(id)
	c.m.OpenStreams.Add(-1)
	if c.streams.Len() == 0 {
		defer c.releaseStreams()
	}
	if r != nil {
		c.lifeStep(r, lifeStreamEnd) // wakes a running handler, or releases r
	}
	c.maybeFinish()
}

// badField drops a response field a handler set that HTTP/2 cannot carry.
func (c *Conn) badField(id uint32, name string) {
	c.m.inc(&c.m.BadResponseFields)
	c.cfg.logf("h2: stream %d: dropped invalid response field %q", id, name)
}
