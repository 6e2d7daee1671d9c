package engine

import "github.com/h2loop/h2loop/codec"

// ALTSVC (RFC 7838) and ORIGIN (RFC 8336): frames a server sends to tell
// the client about alternative services and about the origins the
// connection serves. Received ones are ignored: "The ALTSVC frame is
// intended for receipt by clients. A device acting as a server MUST ignore
// it" (RFC 7838 §4), and an ORIGIN frame has meaning for clients only
// (RFC 8336 §2.1); both fall under "Implementations MUST ignore and
// discard frames of unknown types" (RFC 9113 §5.5).

// StartTLS tells the connection it runs over TLS: the ORIGIN frame of
// Config.Origins goes out after our SETTINGS. "The ORIGIN frame MUST be
// sent on stream 0" (RFC 8336 §2.1); its origins are meaningful for TLS
// connections only, whose certificate the client checks for them (§2.4).
func (c *Conn) StartTLS() {
	c.begin()
	if len(c.cfg.Origins) > 0 && c.originFits(c.cfg.Origins) {
		c.out = codec.AppendOrigin(c.out, c.cfg.Origins...)
	}
}

// SendOrigin sends an ORIGIN frame listing origins on stream 0. It reports
// false when the connection is closed or the frame would be larger than the
// client accepts.
func (c *Conn) SendOrigin(origins []string) bool {
	c.begin()
	if c.state == stateClosed || !c.originFits(origins) {
		return false
	}
	c.out = codec.AppendOrigin(c.out, origins...)
	return true
}

func (c *Conn) originFits(origins []string) bool {
	n := 0
	for _, o := range origins {
		if len(o) > 0xffff {
			return false
		}
		n += 2 + len(o)
	}
	return n <= int(c.peerMaxFrm)
}

// AltSvc sends an ALTSVC frame on r's stream: value is an Alt-Svc field
// value for the origin of the request (RFC 7838 §4: "An ALTSVC frame on a
// stream other than stream 0 containing non-empty "Origin" information is
// invalid", so the origin is left empty). It reports false when the stream
// is gone or the frame would be larger than the client accepts.
func (c *Conn) AltSvc(r *Request, value string) bool {
	c.begin()
	st := c.streamOf(r)
	if st == nil || st.respDone || 2+len(value) > int(c.peerMaxFrm) {
		return false
	}
	c.out = codec.AppendAltSvc(c.out, st.id, "", value)
	return true
}

// connAltSvc sends Config.AltSvc on stream 0 for the origin of the
// connection's first request (its scheme and :authority): "An ALTSVC frame
// on stream 0 with empty (length 0) "Origin" information is invalid"
// (RFC 7838 §4), so a request without :authority sends none.
func (c *Conn) connAltSvc(r *Request) {
	c.altSvcDone = true
	scheme, auth, v := r.Header.Scheme, r.Header.Authority, c.cfg.AltSvc
	n := len(scheme) + 3 + len(auth)
	if auth == "" || scheme == "" || n > 0xffff || 2+n+len(v) > int(c.peerMaxFrm) {
		return
	}
	c.out = codec.AppendFrameHeader(c.out, codec.FrameHeader{Length: uint32(2 + n + len(v)), Type: codec.FrameAltSvc})
	c.out = append(c.out, byte(n>>8), byte(n))
	c.out = append(c.out, scheme...)
	c.out = append(c.out, "://"...)
	c.out = append(c.out, auth...)
	c.out = append(c.out, v...)
}
