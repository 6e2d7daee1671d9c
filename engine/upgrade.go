package engine

import (
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/window"
)

// Upgrade starts a connection that came from an HTTP/1.1 request with
// "Upgrade: h2c" (RFC 7540 §3.2, kept by RFC 9113 §3.1 for existing
// deployments). settings is the decoded HTTP2-Settings payload, applied as
// if it arrived in a SETTINGS frame (no ACK is sent for it); r is the
// upgraded request, complete with its body, which becomes stream 1,
// half-closed (remote), and is dispatched. The client's preface is still
// expected.
func (c *Conn) Upgrade(settings []byte, r *Request) error {
	h := codec.FrameHeader{Length: uint32(len(settings)), Type: codec.FrameSettings}
	sf, err := codec.ParseSettings(h, settings)
	if err != nil {
		return err
	}
	for i, n := 0, sf.Len(); i < n; i++ {
		s := sf.At(i)
		switch s.ID {
		case codec.SettingHeaderTableSize:
			v := s.Value
			if v > codec.DefaultHeaderTableSize {
				v = codec.DefaultHeaderTableSize
			}
			c.encv.SetPeerMaxDynamicTableSize(v)
		case codec.SettingInitialWindowSize:
			if err := c.sendConn.SetInitialStreamWindow(s.Value); err != nil {
				return err
			}
		case codec.SettingMaxFrameSize:
			c.peerMaxFrm = s.Value
		case codec.SettingMaxHeaderListSize:
			c.peerMaxHdr = s.Value
		case codec.SettingEnablePush:
			c.peerPush = s.Value == 1
		case codec.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Value
		}
	}
	c.begin()
	st, err := c.insertStream(1)
	if err != nil {
		return err
	}
	st.id = 1
	st.state = stHalfClosedRemote
	st.clen = -1
	c.touch(st)
	c.sendConn.OpenStream(&st.send)
	st.recv = window.NewRecv(c.cfg.InitialStreamWindow)
	c.lastClientID = 1
	r.conn = c
	r.StreamID = 1
	r.bodyEOF = true
	r.bodyLen = int64(len(r.body))
	st.req = r
	c.openPriority(st, &r.Header)
	c.dispatch(st, false)
	return nil
}

// SetBody gives a request read by the HTTP/1.1 layer its complete body
// (copied); the body then counts as complete.
func (r *Request) SetBody(b []byte) {
	r.body = r.body[:0]
	if len(b) > 0 {
		r.appendBody(b)
	}
	r.bodyOff = 0
	r.bodyLen = int64(len(b))
	r.bodyEOF = true
}

// ReadBuffered copies buffered body bytes into p without touching any
// window (for transports without flow control); eof reports that the whole
// body has been read.
func (r *Request) ReadBuffered(p []byte) (n int, eof bool) {
	n = copy(p, r.body[r.bodyOff:])
	r.bodyOff += n
	return n, r.bodyEOF && r.bodyOff == len(r.body)
}

// ResetResponse drops the response body bytes already sent by a transport
// that writes them itself (HTTP/1.1 chunked streaming).
func (r *Request) ResetResponse() {
	r.notePeak()
	if r.staticBody {
		r.RespBody = nil
		if r.respBuf != nil {
			r.RespBody = r.respBuf.B[:0]
		}
		r.staticBody = false
		return
	}
	r.RespBody = r.RespBody[:0]
}

// HeadersSent reports whether the response header section went out.
func (r *Request) HeadersSent() bool { return r.headersSent }

// MarkHeadersSent records that a transport wrote the response head itself.
func (r *Request) MarkHeadersSent() { r.headersSent = true }

// MarkHandlerDone records that the handler returned (for transports that do
// not use Conn.Respond).
func (r *Request) MarkHandlerDone() {
	if r.life == lifeNew {
		r.life = lifeRunning
	}
	r.life = lifeTable[r.life][lifeReturn].next
}
