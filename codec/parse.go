package codec

import "encoding/binary"

// Every ParseX function takes the frame header h (from ParseFrameHeader) and
// the payload p: exactly the h.Length octets that follow the header. Slices in
// the returned values are subslices of p, valid as long as p is (for netpoll
// input: until Release). None of the parsers allocates on success; the only
// allocating error paths are the stream errors of ParsePriority and
// ParseWindowUpdate, which carry the stream id.

// CheckFrameSize enforces SETTINGS_MAX_FRAME_SIZE on a received frame header
// (RFC 9113 §4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a
// frame exceeds the size defined in SETTINGS_MAX_FRAME_SIZE"). Every oversized
// frame is treated as a connection error.
func CheckFrameSize(h FrameHeader, maxFrameSize uint32) error {
	if h.Length > maxFrameSize {
		return ErrFrameTooLarge
	}
	return nil
}

// PriorityParam is the stream dependency and weight of a HEADERS or PRIORITY
// frame (RFC 9113 §5.3.2, deprecated but still parsed).
type PriorityParam struct {
	StreamDep uint32
	Exclusive bool
	Weight    uint8 // weight minus one, as on the wire
}

func parsePriorityParam(b []byte) PriorityParam {
	v := binary.BigEndian.Uint32(b)
	return PriorityParam{StreamDep: v & MaxStreamID, Exclusive: v>>31 == 1, Weight: b[4]}
}

// stripPadding removes the Pad Length octet and the padding of a PADDED frame
// and checks that the payload holds the frame's fixed fields: fixed is the
// number of octets that must follow the Pad Length octet before any field
// block fragment or data (5 for HEADERS with PRIORITY, 4 for PUSH_PROMISE,
// else 0). body starts with those fixed fields and is a subslice of p.
//
// A payload too short for the Pad Length octet and the fixed fields is a
// FRAME_SIZE_ERROR: "An endpoint MUST send an error code of FRAME_SIZE_ERROR
// if a frame ... is too small to contain mandatory frame data" (RFC 9113
// §4.2); every frame that can be padded changes connection state (flow
// control or the field block), so it is a connection error.
//
// Padding must fit in what is left after the fixed fields: "If the length of
// the padding is the length of the frame payload or greater, the recipient
// MUST treat this as a connection error (Section 5.4.1) of type
// PROTOCOL_ERROR" (§6.1), and "Padding that exceeds the size remaining for the
// field block fragment MUST be treated as a PROTOCOL_ERROR" (§6.2; §6.6 uses
// the same padding fields).
func stripPadding(h FrameHeader, p []byte, fixed int) (body []byte, padLen uint8, err error) {
	if !h.Flags.Has(FlagPadded) {
		if len(p) < fixed {
			return nil, 0, ErrShortPayload
		}
		return p, 0, nil
	}
	if len(p) < 1+fixed {
		return nil, 0, ErrShortPayload
	}
	padLen = p[0]
	if int(padLen) > len(p)-1-fixed {
		return nil, 0, ErrPadding
	}
	return p[1 : len(p)-int(padLen)], padLen, nil
}

// DataFrame is a parsed DATA frame (RFC 9113 §6.1). Data borrows the payload.
type DataFrame struct {
	StreamID  uint32
	EndStream bool
	Data      []byte // borrowed from the parsed payload
	PadLen    uint8
	// FlowLen is the whole payload length, Pad Length octet and padding
	// included: the amount the frame counts against flow control (§6.9.1).
	FlowLen uint32
}

// ParseData parses the payload of a DATA frame.
func ParseData(h FrameHeader, p []byte) (DataFrame, error) {
	// "If a DATA frame is received whose Stream Identifier field is 0x00, the
	// recipient MUST respond with a connection error of type PROTOCOL_ERROR" (§6.1).
	if h.StreamID == 0 {
		return DataFrame{}, ErrStreamIDZero
	}
	body, pad, err := stripPadding(h, p, 0)
	if err != nil {
		return DataFrame{}, err
	}
	return DataFrame{StreamID: h.StreamID, EndStream: h.Flags.Has(FlagEndStream), Data: body, PadLen: pad, FlowLen: uint32(len(p))}, nil
}

// HeadersFrame is a parsed HEADERS frame (RFC 9113 §6.2). Fragment borrows the payload.
type HeadersFrame struct {
	StreamID    uint32
	EndStream   bool
	EndHeaders  bool
	HasPriority bool
	Priority    PriorityParam
	Fragment    []byte // field block fragment, borrowed from the parsed payload
}

// ParseHeaders parses the payload of a HEADERS frame.
func ParseHeaders(h FrameHeader, p []byte) (HeadersFrame, error) {
	// "If a HEADERS frame is received whose Stream Identifier field is 0x00, the
	// recipient MUST respond with a connection error of type PROTOCOL_ERROR" (§6.2).
	if h.StreamID == 0 {
		return HeadersFrame{}, ErrStreamIDZero
	}
	fixed := 0
	if h.Flags.Has(FlagPriority) {
		fixed = 5
	}
	body, _, err := stripPadding(h, p, fixed)
	if err != nil {
		return HeadersFrame{}, err
	}
	f := HeadersFrame{StreamID: h.StreamID, EndStream: h.Flags.Has(FlagEndStream), EndHeaders: h.Flags.Has(FlagEndHeaders)}
	if fixed != 0 {
		f.HasPriority = true
		f.Priority = parsePriorityParam(body)
		body = body[5:]
	}
	f.Fragment = body
	return f, nil
}

// ParsePriority parses the payload of a PRIORITY frame (RFC 9113 §6.3).
func ParsePriority(h FrameHeader, p []byte) (PriorityParam, error) {
	// "If a PRIORITY frame is received with a stream identifier of 0x00, the
	// recipient MUST respond with a connection error of type PROTOCOL_ERROR" (§6.3).
	if h.StreamID == 0 {
		return PriorityParam{}, ErrStreamIDZero
	}
	// "A PRIORITY frame with a length other than 5 octets MUST be treated as a
	// stream error (Section 5.4.2) of type FRAME_SIZE_ERROR" (§6.3).
	if len(p) != 5 {
		return PriorityParam{}, &StreamError{StreamID: h.StreamID, Code: ErrCodeFrameSize, Reason: "PRIORITY payload length not 5"}
	}
	return parsePriorityParam(p), nil
}

// ParseRSTStream parses the payload of a RST_STREAM frame (RFC 9113 §6.4).
func ParseRSTStream(h FrameHeader, p []byte) (ErrCode, error) {
	// "If a RST_STREAM frame is received with a stream identifier of 0x00, the
	// recipient MUST treat this as a connection error of type PROTOCOL_ERROR" (§6.4).
	if h.StreamID == 0 {
		return 0, ErrStreamIDZero
	}
	// "A RST_STREAM frame with a length other than 4 octets MUST be treated as a
	// connection error of type FRAME_SIZE_ERROR" (§6.4).
	if len(p) != 4 {
		return 0, ErrRSTStreamLength
	}
	return ErrCode(binary.BigEndian.Uint32(p)), nil
}

// SettingID identifies a setting (RFC 9113 §6.5.2).
type SettingID uint16

// Settings defined by RFC 9113 §6.5.2 and RFC 8441.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8
)

// Setting is one (identifier, value) pair of a SETTINGS frame.
type Setting struct {
	ID    SettingID
	Value uint32
}

// Valid checks the value ranges of RFC 9113 §6.5.2. Unknown settings are valid.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush:
		// "Any value other than 0 or 1 MUST be treated as a connection error of
		// type PROTOCOL_ERROR" (§6.5.2).
		if s.Value > 1 {
			return ErrSettingEnablePush
		}
	case SettingInitialWindowSize:
		// "Values above the maximum flow-control window size of 2^31-1 MUST be
		// treated as a connection error of type FLOW_CONTROL_ERROR" (§6.5.2).
		if s.Value > MaxWindowSize {
			return ErrSettingInitialWindow
		}
	case SettingMaxFrameSize:
		// "Values outside this range MUST be treated as a connection error of
		// type PROTOCOL_ERROR" (§6.5.2).
		if s.Value < DefaultMaxFrameSize || s.Value > MaxFrameSizeLimit {
			return ErrSettingMaxFrameSize
		}
	case SettingEnableConnectProtocol:
		if s.Value > 1 {
			return ErrSettingEnableConnect
		}
	case SettingNoRFC7540Priorities:
		// "The value of the parameter MUST be 0 or 1. Any value other than
		// 0 or 1 MUST be treated as a connection error of type
		// PROTOCOL_ERROR" (RFC 9218 §2.1).
		if s.Value > 1 {
			return ErrSettingNoRFC7540
		}
	}
	return nil
}

// SettingsFrame is a parsed SETTINGS frame (RFC 9113 §6.5). It borrows the
// payload; read the entries with Len and At.
type SettingsFrame struct {
	Ack     bool
	payload []byte
}

// Len is the number of settings in the frame.
func (f SettingsFrame) Len() int { return len(f.payload) / 6 }

// At returns the i-th setting, 0 <= i < Len().
func (f SettingsFrame) At(i int) Setting {
	b := f.payload[i*6 : i*6+6]
	return Setting{ID: SettingID(binary.BigEndian.Uint16(b)), Value: binary.BigEndian.Uint32(b[2:])}
}

// ParseSettings parses the payload of a SETTINGS frame and checks every value
// against the ranges of §6.5.2.
func ParseSettings(h FrameHeader, p []byte) (SettingsFrame, error) {
	// "If an endpoint receives a SETTINGS frame whose Stream Identifier field is
	// anything other than 0x00, the endpoint MUST respond with a connection
	// error of type PROTOCOL_ERROR" (§6.5).
	if h.StreamID != 0 {
		return SettingsFrame{}, ErrStreamIDNonZero
	}
	if h.Flags.Has(FlagAck) {
		// "Receipt of a SETTINGS frame with the ACK flag set and a length field
		// value other than 0 MUST be treated as a connection error of type
		// FRAME_SIZE_ERROR" (§6.5).
		if len(p) != 0 {
			return SettingsFrame{}, ErrSettingsAckLength
		}
		return SettingsFrame{Ack: true}, nil
	}
	// "A SETTINGS frame with a length other than a multiple of 6 octets MUST be
	// treated as a connection error of type FRAME_SIZE_ERROR" (§6.5).
	if len(p)%6 != 0 {
		return SettingsFrame{}, ErrSettingsLength
	}
	f := SettingsFrame{payload: p}
	for i, n := 0, f.Len(); i < n; i++ {
		if err := f.At(i).Valid(); err != nil {
			return SettingsFrame{}, err
		}
	}
	return f, nil
}

// PushPromiseFrame is a parsed PUSH_PROMISE frame (RFC 9113 §6.6).
type PushPromiseFrame struct {
	StreamID         uint32
	PromisedStreamID uint32
	EndHeaders       bool
	Fragment         []byte // borrowed from the parsed payload
}

// ParsePushPromise parses the payload of a PUSH_PROMISE frame. Servers must
// reject every PUSH_PROMISE (§8.4: "A client cannot push"); clients use this.
func ParsePushPromise(h FrameHeader, p []byte) (PushPromiseFrame, error) {
	// "If the Stream Identifier field specifies the value 0x00, a recipient
	// MUST respond with a connection error (Section 5.4.1) of type
	// PROTOCOL_ERROR" (§6.6).
	if h.StreamID == 0 {
		return PushPromiseFrame{}, ErrStreamIDZero
	}
	body, _, err := stripPadding(h, p, 4)
	if err != nil {
		return PushPromiseFrame{}, err
	}
	return PushPromiseFrame{
		StreamID:         h.StreamID,
		PromisedStreamID: binary.BigEndian.Uint32(body) & MaxStreamID,
		EndHeaders:       h.Flags.Has(FlagEndHeaders),
		Fragment:         body[4:],
	}, nil
}

// ParsePing parses the payload of a PING frame (RFC 9113 §6.7).
func ParsePing(h FrameHeader, p []byte) ([8]byte, error) {
	var data [8]byte
	// "If a PING frame is received with a Stream Identifier field value other
	// than 0x00, the recipient MUST respond with a connection error of type
	// PROTOCOL_ERROR" (§6.7).
	if h.StreamID != 0 {
		return data, ErrStreamIDNonZero
	}
	// "Receipt of a PING frame with a length field value other than 8 MUST be
	// treated as a connection error of type FRAME_SIZE_ERROR" (§6.7).
	if len(p) != 8 {
		return data, ErrPingLength
	}
	copy(data[:], p)
	return data, nil
}

// GoAwayFrame is a parsed GOAWAY frame (RFC 9113 §6.8).
type GoAwayFrame struct {
	LastStreamID uint32
	Code         ErrCode
	DebugData    []byte // borrowed from the parsed payload
}

// ParseGoAway parses the payload of a GOAWAY frame.
func ParseGoAway(h FrameHeader, p []byte) (GoAwayFrame, error) {
	// "An endpoint MUST treat a GOAWAY frame with a stream identifier other
	// than 0x00 as a connection error of type PROTOCOL_ERROR" (§6.8).
	if h.StreamID != 0 {
		return GoAwayFrame{}, ErrStreamIDNonZero
	}
	// The payload holds at least Last-Stream-ID and Error Code: "An endpoint
	// MUST send an error code of FRAME_SIZE_ERROR if a frame ... is too small
	// to contain mandatory frame data" (§4.2); GOAWAY is on stream 0, so it is
	// a connection error.
	if len(p) < 8 {
		return GoAwayFrame{}, ErrGoAwayLength
	}
	return GoAwayFrame{
		LastStreamID: binary.BigEndian.Uint32(p) & MaxStreamID,
		Code:         ErrCode(binary.BigEndian.Uint32(p[4:])),
		DebugData:    p[8:],
	}, nil
}

// ParseWindowUpdate parses the payload of a WINDOW_UPDATE frame (RFC 9113 §6.9)
// and returns the increment.
func ParseWindowUpdate(h FrameHeader, p []byte) (uint32, error) {
	// "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated
	// as a connection error of type FRAME_SIZE_ERROR" (§6.9).
	if len(p) != 4 {
		return 0, ErrWindowUpdateLength
	}
	incr := binary.BigEndian.Uint32(p) & MaxWindowSize
	// "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
	// flow-control window increment of 0 as a stream error of type
	// PROTOCOL_ERROR; errors on the connection flow-control window MUST be
	// treated as a connection error" (§6.9).
	if incr == 0 {
		if h.StreamID == 0 {
			return 0, ErrWindowUpdateZeroConn
		}
		return 0, &StreamError{StreamID: h.StreamID, Code: ErrCodeProtocol, Reason: "WINDOW_UPDATE increment of 0"}
	}
	return incr, nil
}

// ParseContinuation parses a CONTINUATION frame (RFC 9113 §6.10) and returns
// its field block fragment, borrowed from p.
func ParseContinuation(h FrameHeader, p []byte) ([]byte, error) {
	// "If a CONTINUATION frame is received with a Stream Identifier field of
	// 0x00, the recipient MUST respond with a connection error of type
	// PROTOCOL_ERROR" (§6.10).
	if h.StreamID == 0 {
		return nil, ErrStreamIDZero
	}
	return p, nil
}
