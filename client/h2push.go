package client

import (
	"bytes"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/window"
)

// Server push (RFC 9113 §8.4), opt-in with H2Config.EnablePush. Without it
// the client sends SETTINGS_ENABLE_PUSH = 0 and any PUSH_PROMISE is
// ErrPushPromise. With it:
//
//   - a PUSH_PROMISE must come on a stream the client opened and promise an
//     even stream id above every earlier promise, or the connection fails
//     (ErrPushUnopenedStream, ErrPushPromisedID: PROTOCOL_ERROR);
//   - its field block is decoded (CONTINUATION under the limits of a
//     response block) and the promised request checked; a request that is
//     incomplete, unsafe, or for another authority gets RST_STREAM
//     PROTOCOL_ERROR on the promised stream (ErrPushMalformed,
//     ErrPushUnsafeMethod, ErrPushAuthority), a promise above the client's
//     SETTINGS_MAX_CONCURRENT_STREAMS gets RST_STREAM REFUSED_STREAM
//     (ErrPushLimit), and a promise on a stream the client already closed
//     gets RST_STREAM CANCEL (ErrPushCanceled);
//   - an accepted pushed stream receives its response like a request's
//     stream (HEADERS, DATA under flow control, trailers), reported to a
//     PushHandler, never to Handler, and counted in PushesReceived and
//     BytesPushed, not in the response counters.

// PushHandler is implemented by a Handler that wants to know about pushed
// streams. Its methods are called like Handler's. The slices are valid only
// during the call.
type PushHandler interface {
	// PushPromise reports an accepted promise: promised is the pushed
	// stream's id, parent the token of the request it came with, and the
	// other arguments the promised request's pseudo-header fields.
	PushPromise(parent int32, promised uint32, method, scheme, authority, path []byte)
	// PushRefused reports a promise the client refused with RST_STREAM;
	// err is one of the stream errors below.
	PushRefused(promised uint32, err *codec.StreamError)
	// PushResponse reports the final status of a pushed response.
	PushResponse(promised uint32, status int)
	// PushData hands over content of a pushed response as it arrives
	// (padding removed), in order.
	PushData(promised uint32, p []byte)
	// PushClosed reports that an accepted pushed stream ended.
	PushClosed(promised uint32, r Result, code codec.ErrCode)
}

// Errors about pushes. The connection errors are returned by Feed; the
// stream errors are what the client resets a promised stream with (their
// StreamID is 0: PushRefused says which stream).
var (
	// ErrPushUnopenedStream: PUSH_PROMISE on a stream the client never
	// opened (PROTOCOL_ERROR). RFC 9113 §6.6: "PUSH_PROMISE frames MUST
	// only be sent on a peer-initiated stream".
	ErrPushUnopenedStream = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server sent PUSH_PROMISE on a stream the client never opened"}
	// ErrPushPromisedID: a promised stream id that is zero, odd, or not
	// above every earlier one (PROTOCOL_ERROR).
	ErrPushPromisedID = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server promised a stream id that is not a new even id"}

	// ErrPushMalformed: the promised request lacks a pseudo-header field,
	// repeats one, has one it may not (:status, unknown) or one after a
	// regular field (PROTOCOL_ERROR).
	ErrPushMalformed = &codec.StreamError{Code: codec.ErrCodeProtocol,
		Reason: "promised request is incomplete or malformed"}
	// ErrPushUnsafeMethod: the promised method is not GET or HEAD, the
	// safe and cacheable ones (PROTOCOL_ERROR).
	ErrPushUnsafeMethod = &codec.StreamError{Code: codec.ErrCodeProtocol,
		Reason: "promised request method is not safe and cacheable"}
	// ErrPushAuthority: the promised :authority is not the one of the
	// request the promise came with (PROTOCOL_ERROR).
	ErrPushAuthority = &codec.StreamError{Code: codec.ErrCodeProtocol,
		Reason: "promised request is for another authority"}
	// ErrPushLimit: the server promised more streams than the client's
	// SETTINGS_MAX_CONCURRENT_STREAMS (REFUSED_STREAM).
	ErrPushLimit = &codec.StreamError{Code: codec.ErrCodeRefusedStream,
		Reason: "server pushed more streams than SETTINGS_MAX_CONCURRENT_STREAMS"}
	// ErrPushCanceled: the promise came on a stream the client had already
	// closed (CANCEL).
	ErrPushCanceled = &codec.StreamError{Code: codec.ErrCodeCancel,
		Reason: "promise on a closed stream"}
)

// promised pseudo-header fields, as bits of promiseFields.seen
const (
	pfMethod = 1 << iota
	pfScheme
	pfAuthority
	pfPath
	pfAll = pfMethod | pfScheme | pfAuthority | pfPath
)

// promiseFields collects the promised request of the block being decoded.
// The buffers keep their capacity from promise to promise.
type promiseFields struct {
	method, scheme, authority, path []byte
	seen                            uint8
	regular                         bool // a regular field was seen
	bad                             bool
}

// field is the decoder's emit function while a promise block is decoded.
func (pf *promiseFields) field(name, value []byte) {
	if len(name) == 0 || name[0] != ':' {
		pf.regular = true
		return
	}
	// RFC 9113 §8.3: "All pseudo-header fields MUST appear in a field block
	// before all regular field lines"; "The same pseudo-header field name
	// MUST NOT appear more than once"; request pseudo-header fields only.
	var bit uint8
	var dst *[]byte
	switch string(name) {
	case ":method":
		bit, dst = pfMethod, &pf.method
	case ":scheme":
		bit, dst = pfScheme, &pf.scheme
	case ":authority":
		bit, dst = pfAuthority, &pf.authority
	case ":path":
		bit, dst = pfPath, &pf.path
	default:
		pf.bad = true
		return
	}
	if pf.regular || pf.seen&bit != 0 || len(value) == 0 {
		pf.bad = true
	}
	pf.seen |= bit
	*dst = append((*dst)[:0], value...)
}

// check returns the stream error the promised request deserves, or nil.
func (pf *promiseFields) check(authority string) *codec.StreamError {
	if pf.bad || pf.seen != pfAll {
		// RFC 9113 §8.4: "If a client receives a PUSH_PROMISE that does
		// not include a complete and valid set of header fields or the
		// :method pseudo-header field identifies a method that is not
		// safe, it MUST respond on the promised stream with a stream error
		// (Section 5.4.2) of type PROTOCOL_ERROR."
		return ErrPushMalformed
	}
	// §8.4: "Promised requests MUST be safe (see Section 9.2.1 of [HTTP])
	// and cacheable (see Section 9.2.3 of [HTTP])": GET and HEAD.
	if string(pf.method) != "GET" && string(pf.method) != "HEAD" {
		return ErrPushUnsafeMethod
	}
	// §8.4: "A client MUST treat a PUSH_PROMISE for which the server is
	// not authoritative (see Section 10.1) as a stream error (Section
	// 5.4.2) of type PROTOCOL_ERROR." The client knows the server to be
	// authoritative for the authority it sent the request to.
	if authority != "" && !bytes.EqualFold(pf.authority, []byte(authority)) {
		return ErrPushAuthority
	}
	return nil
}

// pushPromise handles a PUSH_PROMISE frame with push enabled.
func (c *H2Conn) pushPromise(h codec.FrameHeader, p []byte) error {
	f, err := codec.ParsePushPromise(h, p)
	if err != nil {
		return err
	}
	// RFC 9113 §6.6: "PUSH_PROMISE frames MUST only be sent on a
	// peer-initiated stream that is in either the "open" or "half-closed
	// (remote)" state." A stream the client never opened is a connection
	// error (§5.1: an idle stream, "MUST treat this as a connection error
	// (Section 5.4.1) of type PROTOCOL_ERROR"); one it closed is answered
	// below (frames in flight after RST_STREAM are expected, §5.1:
	// "PUSH_PROMISE causes a stream to become "reserved" even if the
	// associated stream has been reset").
	if f.StreamID&1 == 0 || f.StreamID >= c.nextID {
		return ErrPushUnopenedStream
	}
	// §6.6: "The promised stream identifier MUST be a valid choice for the
	// next stream sent by the sender (see "new stream identifier" in
	// Section 5.1.1)", and §5.1.1: "An endpoint that receives an
	// unexpected stream identifier MUST respond with a connection error
	// (Section 5.4.1) of type PROTOCOL_ERROR."
	id := f.PromisedStreamID
	if id == 0 || id&1 != 0 || id <= c.lastPromised {
		return ErrPushPromisedID
	}
	c.lastPromised = id
	if uint32(len(f.Fragment)) > c.cfg.MaxHeaderBlockSize {
		return ErrHeaderBlockTooLarge
	}
	if !f.EndHeaders {
		c.hdrStream, c.hdrPromise, c.hdrEnd, c.hdrConts = f.StreamID, id, false, 0
		c.hdrBuf = append(c.hdrBuf[:0], f.Fragment...)
		return nil
	}
	return c.promiseBlock(f.StreamID, id, f.Fragment)
}

// promiseBlock decodes the complete field block of a promise on stream
// parent and accepts or refuses the promised stream.
func (c *H2Conn) promiseBlock(parent, id uint32, block []byte) error {
	pf := &c.prom
	pf.seen, pf.regular, pf.bad = 0, false, false
	c.dec.emit = c.promEmit
	_, decoded, err := c.dec.decode(block)
	c.dec.emit = nil
	if err != nil {
		return &codec.ConnError{Code: codec.ErrCodeCompression, Reason: "server sent an undecodable field block: " + err.Error()}
	}
	c.BytesHead += uint64(len(block))
	c.BytesHeadDecomp += uint64(decoded)
	ps := c.streams.Get(parent)
	var serr *codec.StreamError
	switch {
	case ps == nil:
		serr = ErrPushCanceled
	default:
		serr = pf.check(c.set.reqs[ps.reqIdx].Authority)
	}
	if serr == nil && c.pushes >= c.cfg.MaxConcurrentStreams {
		// RFC 9113 §5.1.2: "An endpoint that receives a HEADERS frame that
		// causes its advertised concurrent stream limit to be exceeded MUST
		// treat this as a stream error (Section 5.4.2) of type
		// PROTOCOL_ERROR or REFUSED_STREAM." The client holds reserved
		// streams under the same bound, and refuses the promise itself
		// (§8.4: the client "can send a RST_STREAM frame ... referencing
		// the promised stream identifier").
		serr = ErrPushLimit
	}
	var s *stream
	if serr == nil {
		if s, err = c.streams.Insert(id); err != nil {
			serr = ErrPushLimit
		}
	}
	if serr != nil {
		c.PushesRefused++
		c.out = codec.AppendRSTStream(c.out, id, serr.Code)
		if c.ph != nil {
			c.ph.PushRefused(id, serr)
		}
		return nil
	}
	// The stream is reserved (remote): the client sends nothing on it
	// (§5.1: it "MUST NOT" send other than WINDOW_UPDATE, RST_STREAM and
	// PRIORITY), so its send side is ended from the start.
	*s = stream{token: -1, reqIdx: -1, flags: sfPushed | sfEndSent, recv: window.NewRecv(c.strWin)}
	c.send.OpenStream(&s.send)
	c.pushes++
	c.PushesReceived++
	if c.ph != nil {
		c.ph.PushPromise(ps.token, id, pf.method, pf.scheme, pf.authority, pf.path)
	}
	return nil
}

// closePushed ends accepted pushed stream id (present in the table).
func (c *H2Conn) closePushed(id uint32, s *stream, r Result, code codec.ErrCode) {
	c.idle = 0
	c.send.CloseStream(&s.send)
	c.streams.Delete(id)
	c.pushes--
	if c.ph != nil {
		c.ph.PushClosed(id, r, code)
	}
}

// Pushes returns the pushed streams held now (reserved or open).
func (c *H2Conn) Pushes() int { return c.pushes }
