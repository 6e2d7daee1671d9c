package http1

// The response side of Conn. A response is written as
//
//	StartResponse, HeaderField..., EndHead,
//	WriteBody... (with DirectWritten after a direct one),
//	TrailerField..., EndResponse
//
// with Interim responses (InterimField..., EndHead) before it. Every call
// appends to Output.

// bodyAllowed reports whether the response may have a body: "Any response
// to a HEAD request and any response with a 1xx (Informational), 204 (No
// Content), or 304 (Not Modified) status code is always terminated by the
// first empty line after the header fields" (RFC 9112 §6.3).
func (c *Conn) bodyAllowed(status int) bool {
	return !c.isHead && status >= 200 && status != 204 && status != 304
}

// StartResponse begins the final response's head. streamed says the body
// is sent before its length is known (a flush before the handler
// returned): it is chunked, or, for an HTTP/1.0 client, delimited by the
// connection's close. trailers says trailer fields follow the body, which
// needs the chunked coding too (RFC 9112 §7.1.2).
func (c *Conn) StartResponse(status int, streamed, trailers bool) {
	switch {
	case !c.bodyAllowed(status):
		c.resp = respNone
	case (streamed || trailers) && c.minor >= 1:
		c.resp = respChunked
	case streamed:
		// "A server MUST NOT send a response containing
		// Transfer-Encoding unless the corresponding request indicates
		// HTTP/1.1 (or later minor revisions)" (RFC 9112 §6.1): an
		// HTTP/1.0 body ends when the connection closes.
		c.resp = respClose
	default:
		c.resp = respLength
	}
	c.status, c.interim = status, false
	c.ownLength, c.hasDate, c.lastChunk, c.declared = false, false, false, false
	c.out = AppendStatusLine(c.takeOut(), status)
}

// StartResponseLength begins a final response whose body streams (a
// flush before the handler returned) with a length the handler declared,
// n (its content-length), as net/http sends one: with that Content-Length
// rather than chunked, so that the client knows the response complete
// when n bytes arrived, before the handler returns. Clip drops body bytes
// beyond n; a response that ends short of n closes the connection
// (EndResponse), the only way left to tell the client it is cut short. A
// response without a body takes the handler's field as StartResponse
// does.
func (c *Conn) StartResponseLength(status int, n int64) {
	c.StartResponse(status, true, false)
	if c.resp == respNone || n < 0 {
		return
	}
	c.resp, c.declared, c.remain = respLength, true, n
}

// Clip returns the part of b the response may still carry: all of it,
// except beyond the length StartResponseLength declared.
func (c *Conn) Clip(b []byte) []byte {
	if c.declared && int64(len(b)) > c.remain {
		return b[:c.remain]
	}
	return b
}

// Interim begins an informational response (103 Early Hints, say); it
// reports false when none may be sent: "A server MUST NOT send a 1xx
// response to an HTTP/1.0 client" (RFC 9110 §15.2).
func (c *Conn) Interim(status int) bool {
	if c.minor == 0 {
		return false
	}
	c.status, c.interim = status, true
	c.out = AppendStatusLine(c.takeOut(), status)
	return true
}

// keepField reports whether a response field the handler set is written:
// the framing and the connection are the Conn's.
func (c *Conn) keepField(name string, empty bool) bool {
	if !c.interim && len(name) == 4 && (name == "date" || name == "Date") {
		c.hasDate = true
		if empty {
			return false // no date at all
		}
	}
	switch ResponseFieldKind(name) {
	case KindContentLength:
		// A handler's content-length stands only where we send no body:
		// HEAD and 304 (RFC 9110 §8.6, §9.3.2). "A server MUST NOT send a
		// Content-Length header field in any response with a status code
		// of 1xx (Informational) or 204 (No Content)".
		if c.interim || c.resp != respNone || c.status < 200 || c.status == 204 {
			return false
		}
		c.ownLength = true
	case KindTransferEncoding, KindConnection, KindKeepAlive, KindProxyConnection, KindUpgrade:
		return false
	}
	return true
}

// HeaderField appends a response field, unless it is one the Conn writes
// itself (framing, connection) or an empty Date (which means none).
func (c *Conn) HeaderField(name, value string) {
	if c.keepField(name, value == "") {
		c.out = AppendField(c.out, name, value)
	}
}

// HeaderFieldBytes is HeaderField with a byte-slice value.
func (c *Conn) HeaderFieldBytes(name string, value []byte) {
	if c.keepField(name, false) {
		c.out = AppendField(c.out, name, value)
	}
}

// EndHead ends the head begun by StartResponse or Interim. body is the
// body's length for a Content-Length response and for the Content-Length
// of a HEAD response (-1: unknown, none is sent); date is the Date field
// written unless the handler set one (final responses only).
func (c *Conn) EndHead(body int, date string) {
	out := c.out
	if c.interim {
		c.out = append(out, "\r\n"...)
		return
	}
	if !c.hasDate && c.status >= 200 {
		out = AppendField(out, "Date", date)
	}
	switch c.resp {
	case respLength:
		if c.declared {
			out = AppendContentLength(out, c.remain)
		} else {
			out = AppendContentLength(out, int64(body))
		}
	case respChunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case respNone:
		if c.isHead && !c.ownLength && body >= 0 && c.status >= 200 && c.status != 204 && c.status != 304 {
			out = AppendContentLength(out, int64(body))
		}
	}
	if c.shutting || c.resp == respClose {
		c.keep = false
	}
	switch {
	case !c.keep:
		// "A server that receives a "close" connection option MUST
		// initiate closure of the connection after it sends the final
		// response to the request that contained the "close" connection
		// option. The server SHOULD send a "close" connection option in
		// its final response on that connection. The server MUST NOT
		// process any further requests received on that connection"
		// (RFC 9112 §9.6): EndResponse reports the connection done.
		out = append(out, "Connection: close\r\n"...)
	case c.minor == 0 && c.kaOpt:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	c.out = append(out, "\r\n"...)
}

// WriteBody appends response body bytes, framed (a chunk, when chunked;
// nothing at all when the response has no body). It returns true when b is
// DirectWrite bytes or more: b is then not copied, and the transport writes
// Output, then b, and calls DirectWritten. Bytes beyond a declared length
// are dropped (StartResponseLength): a transport that writes b itself
// passes Clip(b).
func (c *Conn) WriteBody(b []byte) (direct bool) {
	if len(b) == 0 || c.resp == respNone {
		return false
	}
	if c.declared {
		b = c.Clip(b)
		c.remain -= int64(len(b))
		if len(b) == 0 {
			return false
		}
	}
	c.takeOut()
	if c.resp == respChunked {
		c.out = AppendChunkHeader(c.out, len(b))
	}
	if len(b) >= DirectWrite {
		return true
	}
	c.out = append(c.out, b...)
	if c.resp == respChunked {
		c.out = append(c.out, "\r\n"...)
	}
	return false
}

// DirectWritten ends body bytes the transport wrote itself (WriteBody).
func (c *Conn) DirectWritten() {
	if c.resp == respChunked {
		c.out = append(c.takeOut(), "\r\n"...)
	}
}

// Chunked reports whether the response is chunked (it may have trailers).
func (c *Conn) Chunked() bool { return c.resp == respChunked }

// TrailerField appends a trailer field of a chunked response, except those
// that may not be trailers (framing, routing, the connection: RFC 9110
// §6.5.1).
func (c *Conn) TrailerField(name, value string) {
	if c.resp != respChunked || ResponseFieldKind(name) != KindOther {
		return
	}
	c.appendLastChunk()
	c.out = AppendField(c.out, name, value)
}

// TrailerFieldBytes is TrailerField with a byte-slice value.
func (c *Conn) TrailerFieldBytes(name string, value []byte) {
	if c.resp != respChunked || ResponseFieldKind(name) != KindOther {
		return
	}
	c.appendLastChunk()
	c.out = AppendField(c.out, name, value)
}

func (c *Conn) appendLastChunk() {
	if !c.lastChunk {
		c.lastChunk = true
		c.out = AppendLastChunk(c.takeOut())
	}
}

// EndResponse ends the response (the last chunk and the trailer section
// of a chunked one) and reports whether the connection goes on with the
// next request; when it does not, Closed reports true and the transport
// closes it once Output is written.
func (c *Conn) EndResponse() (keep bool) {
	if c.declared && c.remain > 0 {
		c.keep = false // cut short: the client learns it from the close
	}
	if c.resp == respChunked {
		c.appendLastChunk()
		c.out = append(c.out, "\r\n"...)
	}
	return c.endRequest()
}

// endRequest ends the request being served.
func (c *Conn) endRequest() bool {
	if c.st != stServing {
		return false
	}
	c.releaseBody()
	c.forgetHead()
	keep := c.keep && c.resp != respClose && !c.shutting
	if keep {
		c.st = stHead
		c.enter(PhaseIdle)
	} else {
		c.st = stClosed
	}
	return keep
}

// Abort ends the connection at once, dropping output not yet consumed (a
// response that cannot be completed: HTTP/1.1 has no way to abort one).
func (c *Conn) Abort() {
	c.out = c.out[:0]
	c.ConsumeOutput(0)
	c.releaseBody()
	c.st = stClosed
}

// Close ends the connection (the socket closed): nothing more is read or
// written, and the buffers go back to their pools.
func (c *Conn) Close() { c.Abort() }

// ResponseFieldKind classifies a response field name (any case) as far as
// the Conn treats it specially.
func ResponseFieldKind(name string) Kind {
	switch len(name) {
	case 7, 10, 14, 16, 17:
		var b [17]byte
		for i := 0; i < len(name); i++ {
			b[i] = lower(name[i])
		}
		switch string(b[:len(name)]) {
		case "content-length":
			return KindContentLength
		case "transfer-encoding":
			return KindTransferEncoding
		case "connection":
			return KindConnection
		case "keep-alive":
			return KindKeepAlive
		case "proxy-connection":
			return KindProxyConnection
		case "upgrade":
			return KindUpgrade
		}
	}
	return KindOther
}
