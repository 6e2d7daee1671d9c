package engine

import "github.com/h2loop/h2loop/codec"

// Interim sends an informational (1xx) response on r's stream before the
// final one: a HEADERS frame without END_STREAM carrying status and the
// response fields RespHeader[from:] (103 Early Hints, RFC 8297, sends its
// link fields this way). The stream's state and the final response are
// unchanged. It reports false when the stream is gone, the final header
// section went out already, or status is not an interim status HTTP/2 can
// carry: "HTTP/2 removes support for the 101 (Switching Protocols)
// informational status code" (RFC 9113 §8.1), and "A server MUST NOT send
// a Content-Length header field in any response with a status code of 1xx"
// (RFC 9110 §8.6): such a field is dropped.
func (c *Conn) Interim(r *Request, status, from int) bool {
	c.begin()
	if status < 100 || status > 199 || status == 101 {
		return false
	}
	st := c.streamOf(r)
	if st == nil || st.respDone || r.headersSent {
		return false
	}
	if from < 0 || from > len(r.RespHeader) {
		from = len(r.RespHeader)
	}
	e := &c.encv
	e.Reset()
	e.WriteStatus(status)
	for i := from; i < len(r.RespHeader); i++ {
		kv := &r.RespHeader[i]
		if kv.Name == "content-length" || kv.Name == "date" {
			continue
		}
		c.encodeField(st.id, r, kv)
	}
	c.out = codec.AppendHeaderBlock(c.out, st.id, false, e.Bytes(), c.peerMaxFrm)
	c.touch(st)
	return true
}
