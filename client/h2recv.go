package client

import (
	"errors"

	"github.com/h2loop/h2loop/codec"
)

// This file holds the receiving half of H2Conn: what Feed does with each
// frame, and the limits that bound what a server can make the client hold
// or do (see H2Config).

// startData accounts a DATA frame whose header (and Pad Length) is at hand.
func (c *H2Conn) startData(h codec.FrameHeader, p []byte) error {
	// "If a DATA frame is received whose Stream Identifier field is 0x00,
	// the recipient MUST respond with a connection error of type
	// PROTOCOL_ERROR" (RFC 9113 §6.1).
	if h.StreamID == 0 {
		return codec.ErrStreamIDZero
	}
	c.idle++ // unproductive until shown otherwise below
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
		return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "server sent more DATA than the connection window allows"}
	}
	if inc := c.recv.Release(h.Length); inc > 0 {
		c.out = codec.AppendWindowUpdate(c.out, 0, inc)
	}
	c.dataStream, c.dataLeft, c.dataPad, c.dataEnd = h.StreamID, payload, pad, h.Flags.Has(codec.FlagEndStream)
	c.dataPushed = h.StreamID&1 == 0 // even: only pushes get this far
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
		} else {
			if payload > pad {
				c.idle = 0 // response content: progress
			}
			if !c.dataEnd {
				if inc := s.recv.Release(h.Length); inc > 0 {
					c.out = codec.AppendWindowUpdate(c.out, h.StreamID, inc)
				}
			}
		}
	}
	if payload == 0 {
		c.endData()
	}
	return c.checkProgress()
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
	if id&1 == 0 && id <= c.lastPromised { // a pushed stream (lastPromised is 0 without push)
		return nil
	}
	if id&1 == 0 || id >= c.nextID {
		// RFC 9113 §5.1: frames other than HEADERS/PRIORITY on an idle
		// stream, and streams the server may not open (push is disabled),
		// are a connection error of type PROTOCOL_ERROR.
		return ErrUnopenedStream
	}
	return nil
}

// frame handles one complete non-DATA frame.
func (c *H2Conn) frame(h codec.FrameHeader, p []byte) error {
	// Every frame is unproductive until it shows progress (a response, the
	// end of a stream), except CONTINUATION, bounded per block by
	// MaxContinuations, and WINDOW_UPDATE while a request body is being
	// sent: a server may acknowledge every DATA frame of a long upload.
	if h.Type != codec.FrameContinuation && (h.Type != codec.FrameWindowUpdate || c.bodies == 0) {
		c.idle++
	}
	if err := c.handleFrame(h, p); err != nil {
		return err
	}
	return c.checkProgress()
}

// handleFrame handles one complete non-DATA frame.
func (c *H2Conn) handleFrame(h codec.FrameHeader, p []byte) error {
	switch h.Type {
	case codec.FrameHeaders:
		f, err := codec.ParseHeaders(h, p)
		if err != nil {
			return err
		}
		if err := c.checkClosedID(f.StreamID); err != nil {
			// RFC 9113 §5.1.1: "Streams initiated by a client MUST use
			// odd-numbered stream identifiers; those initiated by the
			// server MUST use even-numbered stream identifiers", and a
			// server initiates streams only by push, on the ids it
			// promised: an even id not promised, or an odd one the client
			// has not used, is "an unexpected stream identifier", which an
			// endpoint "MUST respond [to] with a connection error (Section
			// 5.4.1) of type PROTOCOL_ERROR".
			return err
		}
		if uint32(len(f.Fragment)) > c.cfg.MaxHeaderBlockSize {
			return ErrHeaderBlockTooLarge
		}
		if !f.EndHeaders {
			c.hdrStream, c.hdrEnd, c.hdrConts = f.StreamID, f.EndStream, 0
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
			// RFC 9113 §6.10: "A CONTINUATION frame MUST be preceded by a
			// HEADERS, PUSH_PROMISE or CONTINUATION frame without the
			// END_HEADERS flag set. A recipient that observes violation of
			// this rule MUST respond with a connection error (Section
			// 5.4.1) of type PROTOCOL_ERROR."
			return errStrayContinuation
		}
		// The client must hold the whole block until END_HEADERS (RFC
		// 9113 §4.3: "Each field block is processed as a discrete unit"),
		// and the RFC bounds neither its size nor its frames: these limits
		// are ours. §10.5.1: "A client can discard responses that it
		// cannot process. The field block MUST be processed to ensure a
		// consistent connection state, unless the connection is closed":
		// crossing a limit closes the connection, the only way to stop
		// decoding the block.
		c.hdrConts++
		if c.hdrConts > c.cfg.MaxContinuations {
			return ErrTooManyContinuations
		}
		if uint64(len(c.hdrBuf))+uint64(len(frag)) > uint64(c.cfg.MaxHeaderBlockSize) {
			return ErrHeaderBlockTooLarge
		}
		c.hdrBuf = append(c.hdrBuf, frag...)
		if !h.Flags.Has(codec.FlagEndHeaders) {
			return nil
		}
		id := c.hdrStream
		c.hdrStream = 0
		if c.hdrPromise != 0 {
			promised := c.hdrPromise
			c.hdrPromise = 0
			err = c.promiseBlock(id, promised, c.hdrBuf)
		} else {
			err = c.headerBlock(id, c.hdrEnd, c.hdrBuf)
		}
		if cap(c.hdrBuf) > 64<<10 {
			c.hdrBuf = nil // a large block: do not keep its buffer
		}
		return err
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
			return c.appendAck(true, data)
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
		// connection error of type PROTOCOL_ERROR." The client sends
		// SETTINGS_ENABLE_PUSH = 0 in its preface, so the server can never
		// push (§6.5.2: "A server MUST NOT send a PUSH_PROMISE frame if it
		// receives this parameter set to a value of 0"); before the
		// acknowledgment too, the client could not accept a push: it would
		// have to decode the block and track a reserved stream it never
		// asked for. With EnablePush, see h2push.go.
		if c.cfg.EnablePush {
			return c.pushPromise(h, p)
		}
		return ErrPushPromise
	case codec.FramePriority:
		_, err := codec.ParsePriority(h, p)
		var se *codec.StreamError
		if errors.As(err, &se) {
			return nil
		}
		return err
	}
	if ok, err := c.extFrame(h, p); ok {
		return err
	}
	return nil // unknown frame types are ignored (§4.1)
}

// headerBlock decodes a complete field block received on stream id.
func (c *H2Conn) headerBlock(id uint32, endStream bool, block []byte) error {
	status, decoded, err := c.dec.decode(block)
	if err != nil {
		return &codec.ConnError{Code: codec.ErrCodeCompression, Reason: "server sent an undecodable field block: " + err.Error()}
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
		c.idle = 0 // a response: progress
		if s.flags&sfPushed == 0 {
			c.h.Response(s.token, status)
		} else if c.ph != nil {
			c.ph.PushResponse(id, status)
		}
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
				return ErrEnablePush
			}
		case codec.SettingMaxConcurrentStreams:
			c.peerMax = s.Value
		case codec.SettingInitialWindowSize:
			if c.send.SetInitialStreamWindow(s.Value) != nil {
				return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window"}
			}
			grew = true
		case codec.SettingMaxFrameSize:
			// ParseSettings has checked the range (RFC 9113 §6.5.2: "The
			// initial value is 2^14 (16,384) octets. The value advertised
			// by an endpoint MUST be between this initial value and the
			// maximum allowed frame size (2^24-1 or 16,777,215 octets),
			// inclusive. Values outside this range MUST be treated as a
			// connection error (Section 5.4.1) of type PROTOCOL_ERROR.")
			c.peerFrame = s.Value
		}
	}
	// RFC 9113 §6.5.3: "Upon receiving a SETTINGS frame, the recipient MUST
	// ... respond with a SETTINGS frame with the ACK flag set."
	if err := c.appendAck(false, [8]byte{}); err != nil {
		return err
	}
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
	// "Endpoints MUST NOT increase the value they send in the last stream
	// identifier, since the peers might already have retried unprocessed
	// requests on another connection" (§6.8): a later GOAWAY can only
	// lower the bound; streams refused by an earlier one are gone already.
	if c.goAwayRecv && last > c.goAwayLast {
		last = c.goAwayLast
	}
	c.goingAway, c.goAwayRecv, c.goAwayLast, c.goAwayCode = true, true, last, code
	ids := c.scratch[:0]
	c.streams.Range(func(id uint32, _ *stream) bool {
		if id > last && id&1 == 1 { // pushed streams are not the client's requests
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

// checkProgress returns ErrNoProgress when too many frames in a row have
// advanced no request (c.idle counts them; progress resets it). Without
// this bound a server could keep the client busy forever with frames that
// cost it nothing to send and that the client must process (RFC 9113
// §10.5: "Large numbers of small or empty frames can be abused to cause a
// peer to expend time processing frame headers ... Implementations SHOULD
// track the use of these features and set limits on their use. An
// endpoint MAY treat activity that is suspicious as a connection error
// (Section 5.4.1) of type ENHANCE_YOUR_CALM").
func (c *H2Conn) checkProgress() error {
	if c.idle > c.cfg.MaxFramesWithoutProgress {
		return ErrNoProgress
	}
	return nil
}

// appendAck appends a SETTINGS or PING acknowledgement, or returns
// ErrControlFlood when too many wait to be written: the acknowledgements of
// a server that sends SETTINGS or PING and does not read would otherwise
// grow the output without bound. Both MUST be answered (§6.5.3, §6.7), so
// the bound is on the answers queued, as nghttp2's max_outbound_ack and
// x/net's maxQueuedControlFrames; crossing it is "activity that is
// suspicious", an ENHANCE_YOUR_CALM connection error (§10.5).
func (c *H2Conn) appendAck(ping bool, data [8]byte) error {
	if c.ctrlQueued >= c.cfg.MaxQueuedControl {
		return ErrControlFlood
	}
	if ping {
		c.out = codec.AppendPing(c.out, true, data)
	} else {
		c.out = codec.AppendSettingsAck(c.out)
	}
	c.ctrlQueued++
	c.ctrlEnd = len(c.out)
	return nil
}
