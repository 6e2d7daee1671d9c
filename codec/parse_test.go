package codec

import (
	"bytes"
	"testing"
)

// violation is one frame that breaks a rule of RFC 9113 and the error it must
// produce: the exact sentinel for a connection error, or a stream error on
// streamID. code is the RFC error code, stated independently of the sentinel.
type violation struct {
	name     string
	frame    []byte
	conn     *ConnError // nil: a stream error is wanted
	streamID uint32     // for stream errors
	code     ErrCode
}

// Payloads used by the tables.
var (
	prio5      = []byte{0x80, 0, 0, 3, 15} // exclusive, depends on 3, weight 16
	pingData   = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	noFlags    Flags
	headersEnd = FlagEndHeaders | FlagEndStream
)

// violations lists every per-type rule of RFC 9113 §6 (and §4.2 where a
// payload is too short for its mandatory fields). Each rule is quoted once.
var violations = []violation{
	// §6.1 DATA: "If a DATA frame is received whose Stream Identifier field is
	// 0x00, the recipient MUST respond with a connection error (Section 5.4.1)
	// of type PROTOCOL_ERROR."
	{"DATA stream 0", rawFrame(FrameData, noFlags, 0, 'h', 'i'), ErrStreamIDZero, 0, ErrCodeProtocol},
	{"DATA stream 0 reserved bit", rawFrame(FrameData, FlagEndStream, 0x80000000), ErrStreamIDZero, 0, ErrCodeProtocol},
	// §6.1: "If the length of the padding is the length of the frame payload or
	// greater, the recipient MUST treat this as a connection error (Section
	// 5.4.1) of type PROTOCOL_ERROR."
	{"DATA pad = payload length", rawFrame(FrameData, FlagPadded, 1, 2, 'x'), ErrPadding, 0, ErrCodeProtocol},
	{"DATA pad > payload length", rawFrame(FrameData, FlagPadded, 1, 5, 0, 0), ErrPadding, 0, ErrCodeProtocol},
	{"DATA pad 255 in 1 octet", rawFrame(FrameData, FlagPadded, 1, 255), ErrPadding, 0, ErrCodeProtocol},
	{"DATA pad 1 in 1 octet", rawFrame(FrameData, FlagPadded|FlagEndStream, 1, 1), ErrPadding, 0, ErrCodeProtocol},
	// §4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame
	// ... is too small to contain mandatory frame data": PADDED without the
	// Pad Length octet.
	{"DATA PADDED empty", rawFrame(FrameData, FlagPadded, 1), ErrShortPayload, 0, ErrCodeFrameSize},

	// §6.2 HEADERS: "If a HEADERS frame is received whose Stream Identifier
	// field is 0x00, the recipient MUST respond with a connection error
	// (Section 5.4.1) of type PROTOCOL_ERROR."
	{"HEADERS stream 0", rawFrame(FrameHeaders, headersEnd, 0, 0x82), ErrStreamIDZero, 0, ErrCodeProtocol},
	{"HEADERS PADDED empty", rawFrame(FrameHeaders, FlagPadded|FlagEndHeaders, 1), ErrShortPayload, 0, ErrCodeFrameSize},
	// "Padding that exceeds the size remaining for the field block fragment
	// MUST be treated as a PROTOCOL_ERROR" (§6.2).
	{"HEADERS pad = payload length", rawFrame(FrameHeaders, FlagPadded|FlagEndHeaders, 1, 3, 0x82, 0x84), ErrPadding, 0, ErrCodeProtocol},
	{"HEADERS pad > payload length", rawFrame(FrameHeaders, FlagPadded|FlagEndHeaders, 1, 200, 0x82), ErrPadding, 0, ErrCodeProtocol},
	{"HEADERS pad 1 in 1 octet", rawFrame(FrameHeaders, FlagPadded, 1, 1), ErrPadding, 0, ErrCodeProtocol},
	// The padding may not eat into the priority fields either.
	{"HEADERS pad over priority fields", rawFrame(FrameHeaders, FlagPadded|FlagPriority, 1, cat([]byte{1}, prio5)...), ErrPadding, 0, ErrCodeProtocol},
	{"HEADERS pad over priority and fragment", rawFrame(FrameHeaders, FlagPadded|FlagPriority, 1, cat([]byte{3}, prio5, []byte{0x82, 0x84})...), ErrPadding, 0, ErrCodeProtocol},
	// PRIORITY flag without the 5 octets of priority fields (§4.2, §6.2).
	{"HEADERS PRIORITY empty", rawFrame(FrameHeaders, FlagPriority, 1), ErrShortPayload, 0, ErrCodeFrameSize},
	{"HEADERS PRIORITY 4 octets", rawFrame(FrameHeaders, FlagPriority|FlagEndHeaders, 1, 0, 0, 0, 3), ErrShortPayload, 0, ErrCodeFrameSize},
	{"HEADERS PADDED+PRIORITY 5 octets", rawFrame(FrameHeaders, FlagPadded|FlagPriority, 1, 0, 0, 0, 0, 3), ErrShortPayload, 0, ErrCodeFrameSize},

	// §6.3 PRIORITY: "If a PRIORITY frame is received with a stream identifier
	// of 0x00, the recipient MUST respond with a connection error (Section
	// 5.4.1) of type PROTOCOL_ERROR."
	{"PRIORITY stream 0", rawFrame(FramePriority, noFlags, 0, prio5...), ErrStreamIDZero, 0, ErrCodeProtocol},
	// "A PRIORITY frame with a length other than 5 octets MUST be treated as a
	// stream error (Section 5.4.2) of type FRAME_SIZE_ERROR."
	{"PRIORITY length 4", rawFrame(FramePriority, noFlags, 5, 0, 0, 0, 3), nil, 5, ErrCodeFrameSize},
	{"PRIORITY length 6", rawFrame(FramePriority, noFlags, 7, cat(prio5, []byte{0})...), nil, 7, ErrCodeFrameSize},
	{"PRIORITY length 0", rawFrame(FramePriority, noFlags, 9), nil, 9, ErrCodeFrameSize},
	{"PRIORITY length 4 reserved bit", rawFrame(FramePriority, noFlags, 0x80000009, 0, 0, 0, 3), nil, 9, ErrCodeFrameSize},

	// §6.4 RST_STREAM: "If a RST_STREAM frame is received with a stream
	// identifier of 0x00, the recipient MUST treat this as a connection error
	// (Section 5.4.1) of type PROTOCOL_ERROR."
	{"RST_STREAM stream 0", rawFrame(FrameRSTStream, noFlags, 0, be32(8)...), ErrStreamIDZero, 0, ErrCodeProtocol},
	// "A RST_STREAM frame with a length other than 4 octets MUST be treated as
	// a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
	{"RST_STREAM length 3", rawFrame(FrameRSTStream, noFlags, 1, 0, 0, 8), ErrRSTStreamLength, 0, ErrCodeFrameSize},
	{"RST_STREAM length 5", rawFrame(FrameRSTStream, noFlags, 1, 0, 0, 0, 8, 0), ErrRSTStreamLength, 0, ErrCodeFrameSize},
	{"RST_STREAM length 0", rawFrame(FrameRSTStream, noFlags, 1), ErrRSTStreamLength, 0, ErrCodeFrameSize},

	// §6.5 SETTINGS: "If an endpoint receives a SETTINGS frame whose Stream
	// Identifier field is anything other than 0x00, the endpoint MUST respond
	// with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
	{"SETTINGS stream 1", rawFrame(FrameSettings, noFlags, 1), ErrStreamIDNonZero, 0, ErrCodeProtocol},
	{"SETTINGS ACK stream 1", rawFrame(FrameSettings, FlagAck, 1), ErrStreamIDNonZero, 0, ErrCodeProtocol},
	// "Receipt of a SETTINGS frame with the ACK flag set and a length field
	// value other than 0 MUST be treated as a connection error (Section 5.4.1)
	// of type FRAME_SIZE_ERROR."
	{"SETTINGS ACK with 6 octets", rawFrame(FrameSettings, FlagAck, 0, setting(SettingEnablePush, 0)...), ErrSettingsAckLength, 0, ErrCodeFrameSize},
	{"SETTINGS ACK with 1 octet", rawFrame(FrameSettings, FlagAck, 0, 0), ErrSettingsAckLength, 0, ErrCodeFrameSize},
	// "A SETTINGS frame with a length other than a multiple of 6 octets MUST be
	// treated as a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
	{"SETTINGS length 5", rawFrame(FrameSettings, noFlags, 0, 0, 1, 0, 0, 0), ErrSettingsLength, 0, ErrCodeFrameSize},
	{"SETTINGS length 7", rawFrame(FrameSettings, noFlags, 0, cat(setting(SettingEnablePush, 0), []byte{0})...), ErrSettingsLength, 0, ErrCodeFrameSize},
	{"SETTINGS length 11", rawFrame(FrameSettings, noFlags, 0, cat(setting(SettingEnablePush, 0), []byte{0, 2, 0, 0, 0})...), ErrSettingsLength, 0, ErrCodeFrameSize},
	// §6.5.2 SETTINGS_ENABLE_PUSH: "Any value other than 0 or 1 MUST be
	// treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
	{"ENABLE_PUSH 2", rawFrame(FrameSettings, noFlags, 0, setting(SettingEnablePush, 2)...), ErrSettingEnablePush, 0, ErrCodeProtocol},
	{"ENABLE_PUSH 2^32-1", rawFrame(FrameSettings, noFlags, 0, setting(SettingEnablePush, 0xffffffff)...), ErrSettingEnablePush, 0, ErrCodeProtocol},
	// SETTINGS_INITIAL_WINDOW_SIZE: "Values above the maximum flow-control
	// window size of 2^31-1 MUST be treated as a connection error (Section
	// 5.4.1) of type FLOW_CONTROL_ERROR."
	{"INITIAL_WINDOW_SIZE 2^31", rawFrame(FrameSettings, noFlags, 0, setting(SettingInitialWindowSize, 1<<31)...), ErrSettingInitialWindow, 0, ErrCodeFlowControl},
	{"INITIAL_WINDOW_SIZE 2^32-1", rawFrame(FrameSettings, noFlags, 0, setting(SettingInitialWindowSize, 0xffffffff)...), ErrSettingInitialWindow, 0, ErrCodeFlowControl},
	// SETTINGS_MAX_FRAME_SIZE: "The value advertised by an endpoint MUST be
	// between this initial value and the maximum allowed frame size (2^24-1 or
	// 16,777,215 octets), inclusive. Values outside this range MUST be treated
	// as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
	{"MAX_FRAME_SIZE 0", rawFrame(FrameSettings, noFlags, 0, setting(SettingMaxFrameSize, 0)...), ErrSettingMaxFrameSize, 0, ErrCodeProtocol},
	{"MAX_FRAME_SIZE 16383", rawFrame(FrameSettings, noFlags, 0, setting(SettingMaxFrameSize, 16383)...), ErrSettingMaxFrameSize, 0, ErrCodeProtocol},
	{"MAX_FRAME_SIZE 2^24", rawFrame(FrameSettings, noFlags, 0, setting(SettingMaxFrameSize, 1<<24)...), ErrSettingMaxFrameSize, 0, ErrCodeProtocol},
	{"MAX_FRAME_SIZE 2^32-1", rawFrame(FrameSettings, noFlags, 0, setting(SettingMaxFrameSize, 0xffffffff)...), ErrSettingMaxFrameSize, 0, ErrCodeProtocol},
	// RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL is 0 or 1.
	{"ENABLE_CONNECT_PROTOCOL 2", rawFrame(FrameSettings, noFlags, 0, setting(SettingEnableConnectProtocol, 2)...), ErrSettingEnableConnect, 0, ErrCodeProtocol},
	// A bad entry after good ones is still found.
	{"SETTINGS bad third entry", rawFrame(FrameSettings, noFlags, 0, cat(setting(SettingHeaderTableSize, 0xffffffff),
		setting(SettingEnablePush, 1), setting(SettingInitialWindowSize, 1<<31))...), ErrSettingInitialWindow, 0, ErrCodeFlowControl},

	// §6.6 PUSH_PROMISE: "If the Stream Identifier field specifies the value
	// 0x00, a recipient MUST respond with a connection error (Section 5.4.1)
	// of type PROTOCOL_ERROR."
	{"PUSH_PROMISE stream 0", rawFrame(FramePushPromise, FlagEndHeaders, 0, cat(be32(2), []byte{0x82})...), ErrStreamIDZero, 0, ErrCodeProtocol},
	// The Promised Stream ID is mandatory (§4.2).
	{"PUSH_PROMISE 3 octets", rawFrame(FramePushPromise, FlagEndHeaders, 1, 0, 0, 2), ErrShortPayload, 0, ErrCodeFrameSize},
	{"PUSH_PROMISE empty", rawFrame(FramePushPromise, FlagEndHeaders, 1), ErrShortPayload, 0, ErrCodeFrameSize},
	{"PUSH_PROMISE PADDED empty", rawFrame(FramePushPromise, FlagPadded, 1), ErrShortPayload, 0, ErrCodeFrameSize},
	{"PUSH_PROMISE PADDED 4 octets", rawFrame(FramePushPromise, FlagPadded, 1, 0, 0, 0, 2), ErrShortPayload, 0, ErrCodeFrameSize},
	// Padding as for DATA (§6.6 refers to §6.1), and it may not cover the
	// Promised Stream ID.
	{"PUSH_PROMISE pad over promised id", rawFrame(FramePushPromise, FlagPadded, 1, cat([]byte{1}, be32(2))...), ErrPadding, 0, ErrCodeProtocol},
	{"PUSH_PROMISE pad = payload length", rawFrame(FramePushPromise, FlagPadded, 1, cat([]byte{6}, be32(2), []byte{0x82})...), ErrPadding, 0, ErrCodeProtocol},
	{"PUSH_PROMISE pad > payload length", rawFrame(FramePushPromise, FlagPadded, 1, cat([]byte{255}, be32(2))...), ErrPadding, 0, ErrCodeProtocol},

	// §6.7 PING: "If a PING frame is received with a Stream Identifier field
	// value other than 0x00, the recipient MUST respond with a connection
	// error (Section 5.4.1) of type PROTOCOL_ERROR."
	{"PING stream 1", rawFrame(FramePing, noFlags, 1, pingData...), ErrStreamIDNonZero, 0, ErrCodeProtocol},
	{"PING ACK stream 1", rawFrame(FramePing, FlagAck, 1, pingData...), ErrStreamIDNonZero, 0, ErrCodeProtocol},
	// "Receipt of a PING frame with a length field value other than 8 MUST be
	// treated as a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
	{"PING length 7", rawFrame(FramePing, noFlags, 0, pingData[:7]...), ErrPingLength, 0, ErrCodeFrameSize},
	{"PING length 9", rawFrame(FramePing, noFlags, 0, cat(pingData, []byte{9})...), ErrPingLength, 0, ErrCodeFrameSize},
	{"PING length 0", rawFrame(FramePing, FlagAck, 0), ErrPingLength, 0, ErrCodeFrameSize},

	// §6.8 GOAWAY: "An endpoint MUST treat a GOAWAY frame with a stream
	// identifier other than 0x00 as a connection error (Section 5.4.1) of type
	// PROTOCOL_ERROR."
	{"GOAWAY stream 3", rawFrame(FrameGoAway, noFlags, 3, cat(be32(1), be32(0))...), ErrStreamIDNonZero, 0, ErrCodeProtocol},
	// Last-Stream-ID and Error Code are mandatory (§4.2).
	{"GOAWAY length 7", rawFrame(FrameGoAway, noFlags, 0, 0, 0, 0, 1, 0, 0, 0), ErrGoAwayLength, 0, ErrCodeFrameSize},
	{"GOAWAY length 0", rawFrame(FrameGoAway, noFlags, 0), ErrGoAwayLength, 0, ErrCodeFrameSize},

	// §6.9 WINDOW_UPDATE: "A WINDOW_UPDATE frame with a length other than 4
	// octets MUST be treated as a connection error (Section 5.4.1) of type
	// FRAME_SIZE_ERROR" -- on a stream as well as on the connection.
	{"WINDOW_UPDATE length 3 stream 0", rawFrame(FrameWindowUpdate, noFlags, 0, 0, 0, 1), ErrWindowUpdateLength, 0, ErrCodeFrameSize},
	{"WINDOW_UPDATE length 5 stream 0", rawFrame(FrameWindowUpdate, noFlags, 0, 0, 0, 0, 1, 0), ErrWindowUpdateLength, 0, ErrCodeFrameSize},
	{"WINDOW_UPDATE length 3 stream 1", rawFrame(FrameWindowUpdate, noFlags, 1, 0, 0, 1), ErrWindowUpdateLength, 0, ErrCodeFrameSize},
	{"WINDOW_UPDATE length 0 stream 1", rawFrame(FrameWindowUpdate, noFlags, 1), ErrWindowUpdateLength, 0, ErrCodeFrameSize},
	// "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
	// flow-control window increment of 0 as a stream error (Section 5.4.2) of
	// type PROTOCOL_ERROR; errors on the connection flow-control window MUST
	// be treated as a connection error (Section 5.4.1)."
	{"WINDOW_UPDATE 0 on stream 3", rawFrame(FrameWindowUpdate, noFlags, 3, be32(0)...), nil, 3, ErrCodeProtocol},
	{"WINDOW_UPDATE 0 on max stream", rawFrame(FrameWindowUpdate, noFlags, MaxStreamID, be32(0)...), nil, MaxStreamID, ErrCodeProtocol},
	{"WINDOW_UPDATE 0 on the connection", rawFrame(FrameWindowUpdate, noFlags, 0, be32(0)...), ErrWindowUpdateZeroConn, 0, ErrCodeProtocol},
	// The reserved bit of the increment is ignored, so this is still 0.
	{"WINDOW_UPDATE reserved bit only on stream 1", rawFrame(FrameWindowUpdate, noFlags, 1, be32(1<<31)...), nil, 1, ErrCodeProtocol},
	{"WINDOW_UPDATE reserved bit only on the connection", rawFrame(FrameWindowUpdate, noFlags, 0, be32(1<<31)...), ErrWindowUpdateZeroConn, 0, ErrCodeProtocol},

	// §6.10 CONTINUATION: "If a CONTINUATION frame is received with a Stream
	// Identifier field of 0x00, the recipient MUST respond with a connection
	// error (Section 5.4.1) of type PROTOCOL_ERROR."
	{"CONTINUATION stream 0", rawFrame(FrameContinuation, FlagEndHeaders, 0, 0x82), ErrStreamIDZero, 0, ErrCodeProtocol},
	{"CONTINUATION stream 0 reserved bit", rawFrame(FrameContinuation, noFlags, 0x80000000), ErrStreamIDZero, 0, ErrCodeProtocol},
}

func TestParseViolations(t *testing.T) {
	for _, v := range violations {
		t.Run(v.name, func(t *testing.T) {
			h, p := splitFrame(t, v.frame)
			_, err := parseFrame(h, p, DefaultMaxFrameSize)
			if v.conn == nil {
				wantStreamErr(t, err, v.streamID, v.code)
				return
			}
			if v.conn.Code != v.code {
				t.Fatalf("sentinel %q has code %v, the RFC says %v", v.conn.Reason, v.conn.Code, v.code)
			}
			wantConnErr(t, err, v.conn)
		})
	}
}

// TestFrameTooLarge feeds frames one octet over the limit to the size check
// the receive loop runs before any parser (RFC 9113 §4.2).
func TestFrameTooLarge(t *testing.T) {
	for _, max := range []uint32{DefaultMaxFrameSize, 20000, MaxFrameSizeLimit - 1} {
		for ft := FrameType(0); ft <= 0x0b; ft++ {
			hdr := AppendFrameHeader(nil, FrameHeader{Length: max + 1, Type: ft, StreamID: 1})
			h := ParseFrameHeader(hdr)
			wantConnErr(t, CheckFrameSize(h, max), ErrFrameTooLarge)
			_, err := parseFrame(h, nil, max)
			wantConnErr(t, err, ErrFrameTooLarge)
			h.Length = max
			if err := CheckFrameSize(h, max); err != nil {
				t.Fatalf("frame of exactly %d octets rejected: %v", max, err)
			}
		}
	}
}

// TestUnknownFrameTypes checks that frames of unknown types are recognised
// as such: "Implementations MUST ignore and discard frames of unknown types"
// (RFC 9113 §5.5).
func TestUnknownFrameTypes(t *testing.T) {
	for _, ft := range []FrameType{0xa, 0xb, 0xc, 0x10, 0xfe, 0xff} {
		b := rawFrame(ft, 0xff, 0, 1, 2, 3)
		h, p := splitFrame(t, b)
		if h.Type.Known() {
			t.Fatalf("type %#x reported as known", uint8(ft))
		}
		fr, err := parseFrame(h, p, DefaultMaxFrameSize)
		if err != nil || fr.h != h {
			t.Fatalf("unknown type %#x: %v, %+v", uint8(ft), err, fr.h)
		}
	}
}

// TestParseValid checks exact parsed values for well-formed frames, including
// the boundary values each rule allows.
func TestParseValid(t *testing.T) {
	t.Run("DATA", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FrameData, FlagEndStream|0x40, 0x80000005, 'a', 'b', 'c'))
		d, err := ParseData(h, p)
		if err != nil || d.StreamID != 5 || !d.EndStream || string(d.Data) != "abc" || d.PadLen != 0 || d.FlowLen != 3 {
			t.Fatalf("ParseData = %+v, %v", d, err)
		}
		// Padding up to payload length - 1 is allowed, leaving empty data.
		h, p = splitFrame(t, rawFrame(FrameData, FlagPadded, 1, 3, 1, 2, 3))
		d, err = ParseData(h, p)
		if err != nil || len(d.Data) != 0 || d.PadLen != 3 || d.FlowLen != 4 || d.EndStream {
			t.Fatalf("ParseData(max padding) = %+v, %v", d, err)
		}
		h, p = splitFrame(t, rawFrame(FrameData, FlagPadded|FlagEndStream, 1, 2, 'h', 'i', 0, 0))
		d, err = ParseData(h, p)
		if err != nil || string(d.Data) != "hi" || d.PadLen != 2 || d.FlowLen != 5 || !d.EndStream {
			t.Fatalf("ParseData(padded) = %+v, %v", d, err)
		}
		// Data borrows the payload.
		if &d.Data[0] != &p[1] {
			t.Fatal("Data does not alias the payload")
		}
		h, p = splitFrame(t, rawFrame(FrameData, FlagPadded, 1, 0))
		if d, err = ParseData(h, p); err != nil || len(d.Data) != 0 || d.FlowLen != 1 {
			t.Fatalf("ParseData(pad length 0, no data) = %+v, %v", d, err)
		}
		h, p = splitFrame(t, rawFrame(FrameData, 0, 1))
		if d, err = ParseData(h, p); err != nil || len(d.Data) != 0 || d.FlowLen != 0 {
			t.Fatalf("ParseData(empty) = %+v, %v", d, err)
		}
	})
	t.Run("HEADERS", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FrameHeaders, FlagEndHeaders, 3, 0x82, 0x86))
		f, err := ParseHeaders(h, p)
		if err != nil || f.StreamID != 3 || f.EndStream || !f.EndHeaders || f.HasPriority || !bytes.Equal(f.Fragment, []byte{0x82, 0x86}) {
			t.Fatalf("ParseHeaders = %+v, %v", f, err)
		}
		h, p = splitFrame(t, rawFrame(FrameHeaders, FlagPadded|FlagPriority|FlagEndStream, 3, cat([]byte{2}, prio5, []byte{0x82, 9, 9})...))
		f, err = ParseHeaders(h, p)
		want := PriorityParam{StreamDep: 3, Exclusive: true, Weight: 15}
		if err != nil || !f.EndStream || f.EndHeaders || !f.HasPriority || f.Priority != want || !bytes.Equal(f.Fragment, []byte{0x82}) {
			t.Fatalf("ParseHeaders(padded, priority) = %+v, %v", f, err)
		}
		// Padding filling everything after the priority fields is allowed.
		h, p = splitFrame(t, rawFrame(FrameHeaders, FlagPadded|FlagPriority, 3, cat([]byte{2}, prio5, []byte{0, 0})...))
		if f, err = ParseHeaders(h, p); err != nil || len(f.Fragment) != 0 || f.Priority != want {
			t.Fatalf("ParseHeaders(priority, all padding) = %+v, %v", f, err)
		}
		h, p = splitFrame(t, rawFrame(FrameHeaders, FlagPriority, 3, 0x7f, 0xff, 0xff, 0xff, 0xff))
		if f, err = ParseHeaders(h, p); err != nil || len(f.Fragment) != 0 ||
			f.Priority != (PriorityParam{StreamDep: MaxStreamID, Weight: 255}) {
			t.Fatalf("ParseHeaders(priority only) = %+v, %v", f, err)
		}
	})
	t.Run("PRIORITY", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FramePriority, 0, 7, 0x00, 0x00, 0x01, 0x00, 0x00))
		pp, err := ParsePriority(h, p)
		if err != nil || pp != (PriorityParam{StreamDep: 256}) {
			t.Fatalf("ParsePriority = %+v, %v", pp, err)
		}
	})
	t.Run("RST_STREAM", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FrameRSTStream, 0, 1, be32(0xdeadbeef)...))
		code, err := ParseRSTStream(h, p)
		if err != nil || code != 0xdeadbeef {
			t.Fatalf("ParseRSTStream = %v, %v", code, err)
		}
	})
	t.Run("SETTINGS", func(t *testing.T) {
		entries := []Setting{
			{SettingHeaderTableSize, 0xffffffff},
			{SettingEnablePush, 0}, {SettingEnablePush, 1},
			{SettingMaxConcurrentStreams, 0},
			{SettingInitialWindowSize, 0}, {SettingInitialWindowSize, MaxWindowSize},
			{SettingMaxFrameSize, DefaultMaxFrameSize}, {SettingMaxFrameSize, MaxFrameSizeLimit},
			{SettingMaxHeaderListSize, 0xffffffff},
			{SettingEnableConnectProtocol, 0}, {SettingEnableConnectProtocol, 1},
			// "An endpoint that receives a SETTINGS frame with any unknown or
			// unsupported identifier MUST ignore that setting" (§6.5.2).
			{0x0, 0xffffffff}, {0x7, 12345}, {0xffff, 0xffffffff},
		}
		var payload []byte
		for _, s := range entries {
			payload = append(payload, setting(s.ID, s.Value)...)
		}
		h, p := splitFrame(t, rawFrame(FrameSettings, 0x20, 0, payload...)) // unknown flag ignored
		f, err := ParseSettings(h, p)
		if err != nil || f.Ack || f.Len() != len(entries) {
			t.Fatalf("ParseSettings = %+v, %v", f, err)
		}
		for i, s := range entries {
			if f.At(i) != s {
				t.Errorf("At(%d) = %+v, want %+v", i, f.At(i), s)
			}
			if err := s.Valid(); err != nil {
				t.Errorf("%+v.Valid() = %v", s, err)
			}
		}
		h, p = splitFrame(t, rawFrame(FrameSettings, FlagAck, 0))
		if f, err = ParseSettings(h, p); err != nil || !f.Ack || f.Len() != 0 {
			t.Fatalf("ParseSettings(ACK) = %+v, %v", f, err)
		}
		h, p = splitFrame(t, rawFrame(FrameSettings, 0, 0))
		if f, err = ParseSettings(h, p); err != nil || f.Ack || f.Len() != 0 {
			t.Fatalf("ParseSettings(empty) = %+v, %v", f, err)
		}
	})
	t.Run("PUSH_PROMISE", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FramePushPromise, FlagEndHeaders|FlagPadded, 1, cat([]byte{1}, be32(0x80000002), []byte{0x82, 0})...))
		f, err := ParsePushPromise(h, p)
		if err != nil || f.StreamID != 1 || f.PromisedStreamID != 2 || !f.EndHeaders || !bytes.Equal(f.Fragment, []byte{0x82}) {
			t.Fatalf("ParsePushPromise = %+v, %v", f, err)
		}
		h, p = splitFrame(t, rawFrame(FramePushPromise, FlagPadded, 1, cat([]byte{0}, be32(4))...))
		if f, err = ParsePushPromise(h, p); err != nil || f.PromisedStreamID != 4 || f.EndHeaders || len(f.Fragment) != 0 {
			t.Fatalf("ParsePushPromise(minimal padded) = %+v, %v", f, err)
		}
	})
	t.Run("PING", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FramePing, FlagAck, 0, pingData...))
		d, err := ParsePing(h, p)
		if err != nil || d != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} {
			t.Fatalf("ParsePing = %v, %v", d, err)
		}
		p[0] = 99 // the result is a copy
		if d[0] != 1 {
			t.Fatal("ParsePing result aliases the payload")
		}
	})
	t.Run("GOAWAY", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FrameGoAway, 0, 0, cat(be32(0x80000007), be32(uint32(ErrCodeEnhanceYourCalm)), []byte("bye"))...))
		f, err := ParseGoAway(h, p)
		if err != nil || f.LastStreamID != 7 || f.Code != ErrCodeEnhanceYourCalm || string(f.DebugData) != "bye" {
			t.Fatalf("ParseGoAway = %+v, %v", f, err)
		}
		h, p = splitFrame(t, rawFrame(FrameGoAway, 0, 0, cat(be32(0), be32(0))...))
		if f, err = ParseGoAway(h, p); err != nil || len(f.DebugData) != 0 {
			t.Fatalf("ParseGoAway(no debug data) = %+v, %v", f, err)
		}
	})
	t.Run("WINDOW_UPDATE", func(t *testing.T) {
		for _, id := range []uint32{0, 1, MaxStreamID} {
			for _, raw := range []uint32{1, 0x80000001, MaxWindowSize, 0xffffffff} {
				h, p := splitFrame(t, rawFrame(FrameWindowUpdate, 0, id, be32(raw)...))
				incr, err := ParseWindowUpdate(h, p)
				if err != nil || incr != raw&MaxWindowSize {
					t.Fatalf("ParseWindowUpdate(stream %d, %#x) = %d, %v", id, raw, incr, err)
				}
			}
		}
	})
	t.Run("CONTINUATION", func(t *testing.T) {
		h, p := splitFrame(t, rawFrame(FrameContinuation, FlagEndHeaders, 9, 0x82))
		frag, err := ParseContinuation(h, p)
		if err != nil || !bytes.Equal(frag, []byte{0x82}) {
			t.Fatalf("ParseContinuation = %x, %v", frag, err)
		}
		h, p = splitFrame(t, rawFrame(FrameContinuation, 0, 9))
		if frag, err = ParseContinuation(h, p); err != nil || len(frag) != 0 {
			t.Fatalf("ParseContinuation(empty) = %x, %v", frag, err)
		}
	})
}

// TestSettingValid checks the §6.5.2 ranges on Setting.Valid directly, at
// and around every boundary.
func TestSettingValid(t *testing.T) {
	tests := []struct {
		s    Setting
		want *ConnError
	}{
		{Setting{SettingEnablePush, 0}, nil},
		{Setting{SettingEnablePush, 1}, nil},
		{Setting{SettingEnablePush, 2}, ErrSettingEnablePush},
		{Setting{SettingInitialWindowSize, 1<<31 - 1}, nil},
		{Setting{SettingInitialWindowSize, 1 << 31}, ErrSettingInitialWindow},
		{Setting{SettingMaxFrameSize, 16383}, ErrSettingMaxFrameSize},
		{Setting{SettingMaxFrameSize, 16384}, nil},
		{Setting{SettingMaxFrameSize, 1<<24 - 1}, nil},
		{Setting{SettingMaxFrameSize, 1 << 24}, ErrSettingMaxFrameSize},
		{Setting{SettingEnableConnectProtocol, 1}, nil},
		{Setting{SettingEnableConnectProtocol, 2}, ErrSettingEnableConnect},
		{Setting{SettingHeaderTableSize, 0xffffffff}, nil},
		{Setting{SettingMaxConcurrentStreams, 0xffffffff}, nil},
		{Setting{SettingMaxHeaderListSize, 0xffffffff}, nil},
		{Setting{0x99, 0xffffffff}, nil},
	}
	for _, tt := range tests {
		err := tt.s.Valid()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%+v.Valid() = %v, want nil", tt.s, err)
			}
			continue
		}
		wantConnErr(t, err, tt.want)
	}
}
