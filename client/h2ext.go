package client

import "github.com/h2loop/h2loop/codec"

// ExtHandler is implemented by a Handler that wants the frames a server
// sends about the connection itself: ALTSVC (RFC 7838) and ORIGIN
// (RFC 8336). The slices are valid only during the call.
type ExtHandler interface {
	// AltSvc reports a valid ALTSVC frame: on stream 0 for origin, or on
	// a request's stream (origin empty: the request's origin). value is
	// the Alt-Svc field value.
	AltSvc(streamID uint32, origin, value []byte)
	// Origin reports the origins of an ORIGIN frame on stream 0.
	Origin(origins [][]byte)
}

// ErrPriorityUpdate: "Servers MUST NOT send PRIORITY_UPDATE frames. If a
// client receives a PRIORITY_UPDATE frame, it MUST respond with a
// connection error of type PROTOCOL_ERROR" (RFC 9218 §7.1).
var ErrPriorityUpdate = &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "server sent PRIORITY_UPDATE"}

// extFrame handles the extension frames the client knows. Invalid ALTSVC
// and ORIGIN frames are ignored, as RFC 7838 §4 and RFC 8336 §2.1 ask ("is
// invalid and MUST be ignored"), malformed ones too (they are non-critical
// extensions); ok is false for other frame types.
func (c *H2Conn) extFrame(h codec.FrameHeader, p []byte) (ok bool, err error) {
	switch h.Type {
	case codec.FrameAltSvc:
		a, err := codec.ParseAltSvc(h, p)
		if err == nil && a.Valid() {
			if x, ok := c.h.(ExtHandler); ok {
				x.AltSvc(a.StreamID, a.Origin, a.Value)
			}
		}
		return true, nil
	case codec.FrameOrigin:
		if x, ok := c.h.(ExtHandler); ok && h.StreamID == 0 {
			if os, err := codec.ParseOrigin(h, p, nil); err == nil {
				x.Origin(os)
			}
		}
		return true, nil
	case codec.FramePriorityUpdate:
		return true, ErrPriorityUpdate
	}
	return false, nil
}
