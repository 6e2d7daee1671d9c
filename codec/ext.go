package codec

import "encoding/binary"

// Extension frame types: ALTSVC (RFC 7838 §4), ORIGIN (RFC 8336 §2) and
// PRIORITY_UPDATE (RFC 9218 §7.1). They are not RFC 9113 types: Known
// reports false for them, and a receiver that does not implement one
// ignores it (RFC 9113 §5.5).
const (
	FrameAltSvc         FrameType = 0xa
	FrameOrigin         FrameType = 0xc
	FramePriorityUpdate FrameType = 0x10
)

// SettingNoRFC7540Priorities is SETTINGS_NO_RFC7540_PRIORITIES (RFC 9218
// §2.1): 1 says the sender does not use the RFC 7540 priority scheme.
const SettingNoRFC7540Priorities SettingID = 0x9

// Errors of the extension frames.
var (
	ErrAltSvcLength         = connErr(ErrCodeFrameSize, "ALTSVC origin length beyond the payload")
	ErrOriginLength         = connErr(ErrCodeFrameSize, "ORIGIN entry length beyond the payload")
	ErrPriorityUpdateLength = connErr(ErrCodeFrameSize, "PRIORITY_UPDATE payload shorter than 4")
	ErrPriorityUpdateStream = connErr(ErrCodeProtocol, "PRIORITY_UPDATE not on stream 0")
	ErrPriorityUpdateZero   = connErr(ErrCodeProtocol, "PRIORITY_UPDATE for stream 0")
	ErrSettingNoRFC7540     = connErr(ErrCodeProtocol, "SETTINGS_NO_RFC7540_PRIORITIES not 0 or 1")
)

// AppendAltSvc appends an ALTSVC frame (RFC 7838 §4): on stream 0 it names
// the origin the alternative services are for; on a request's stream the
// origin is that of the request and origin must be empty. value is an
// Alt-Svc field value, e.g. `h2="alt.example.com:443"; ma=3600` or "clear".
func AppendAltSvc(dst []byte, streamID uint32, origin, value string) []byte {
	dst = appendHeader(dst, 2+len(origin)+len(value), FrameAltSvc, 0, streamID)
	dst = append(dst, byte(len(origin)>>8), byte(len(origin)))
	dst = append(dst, origin...)
	return append(dst, value...)
}

// AltSvcFrame is a parsed ALTSVC frame; Origin and Value borrow the payload.
type AltSvcFrame struct {
	StreamID uint32
	Origin   []byte
	Value    []byte
}

// ParseAltSvc parses an ALTSVC payload. A frame that RFC 7838 §4 calls
// invalid ("An ALTSVC frame on a stream other than stream 0 containing
// non-empty "Origin" information is invalid and MUST be ignored. An ALTSVC
// frame on stream 0 with empty (length 0) "Origin" information is invalid
// and MUST be ignored") parses without error: check Valid. An origin length
// beyond the payload is ErrAltSvcLength.
func ParseAltSvc(h FrameHeader, p []byte) (AltSvcFrame, error) {
	if len(p) < 2 {
		return AltSvcFrame{}, ErrAltSvcLength
	}
	n := int(binary.BigEndian.Uint16(p))
	if 2+n > len(p) {
		return AltSvcFrame{}, ErrAltSvcLength
	}
	return AltSvcFrame{StreamID: h.StreamID, Origin: p[2 : 2+n], Value: p[2+n:]}, nil
}

// Valid reports whether the frame is one a client acts on (RFC 7838 §4).
func (f AltSvcFrame) Valid() bool { return (f.StreamID == 0) == (len(f.Origin) > 0) }

// AppendOrigin appends an ORIGIN frame (RFC 8336 §2) on stream 0 listing
// origins ("https://example.com", in ASCII serialization).
func AppendOrigin(dst []byte, origins ...string) []byte {
	n := 0
	for _, o := range origins {
		n += 2 + len(o)
	}
	dst = appendHeader(dst, n, FrameOrigin, 0, 0)
	for _, o := range origins {
		dst = append(dst, byte(len(o)>>8), byte(len(o)))
		dst = append(dst, o...)
	}
	return dst
}

// ParseOrigin parses an ORIGIN payload and appends its origins to dst
// (borrowing the payload). "The ORIGIN frame MUST be sent on stream 0; an
// ORIGIN frame on any other stream is invalid and MUST be ignored" (RFC
// 8336 §2.1): such a frame yields no origins and no error. An entry whose
// length runs beyond the payload is ErrOriginLength.
func ParseOrigin(h FrameHeader, p []byte, dst [][]byte) ([][]byte, error) {
	if h.StreamID != 0 {
		return dst, nil
	}
	for len(p) > 0 {
		if len(p) < 2 {
			return dst, ErrOriginLength
		}
		n := int(binary.BigEndian.Uint16(p))
		if 2+n > len(p) {
			return dst, ErrOriginLength
		}
		dst = append(dst, p[2:2+n])
		p = p[2+n:]
	}
	return dst, nil
}

// AppendPriorityUpdate appends a PRIORITY_UPDATE frame (RFC 9218 §7.1) for
// stream id with a priority field value such as "u=1, i".
func AppendPriorityUpdate(dst []byte, id uint32, value string) []byte {
	dst = appendHeader(dst, 4+len(value), FramePriorityUpdate, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, id&MaxStreamID)
	return append(dst, value...)
}

// PriorityUpdateFrame is a parsed PRIORITY_UPDATE frame; Value borrows the
// payload.
type PriorityUpdateFrame struct {
	StreamID uint32 // the prioritized stream
	Value    []byte // the priority field value
}

// ParsePriorityUpdate parses a PRIORITY_UPDATE frame and enforces the rules
// of RFC 9218 §7.1 that need no connection state: "PRIORITY_UPDATE frames
// ... are sent on stream 0" ("If a PRIORITY_UPDATE frame is received with a
// Stream Identifier of ... other than 0x0, the recipient MUST respond with
// a connection error of type PROTOCOL_ERROR"), and "If a PRIORITY_UPDATE
// frame is received with a Prioritized Stream ID of 0x0, the recipient
// MUST respond with a connection error of type PROTOCOL_ERROR". A payload
// too short for the stream id is a FRAME_SIZE_ERROR.
func ParsePriorityUpdate(h FrameHeader, p []byte) (PriorityUpdateFrame, error) {
	if h.StreamID != 0 {
		return PriorityUpdateFrame{}, ErrPriorityUpdateStream
	}
	if len(p) < 4 {
		return PriorityUpdateFrame{}, ErrPriorityUpdateLength
	}
	id := binary.BigEndian.Uint32(p) & MaxStreamID
	if id == 0 {
		return PriorityUpdateFrame{}, ErrPriorityUpdateZero
	}
	return PriorityUpdateFrame{StreamID: id, Value: p[4:]}, nil
}
