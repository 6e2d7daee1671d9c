package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// rawFrame builds a frame byte by byte, independently of the appenders: a
// header whose length field is len(payload), then payload. id is written as
// given, so a test can set the reserved bit.
func rawFrame(t FrameType, f Flags, id uint32, payload ...byte) []byte {
	n := len(payload)
	b := []byte{byte(n >> 16), byte(n >> 8), byte(n), byte(t), byte(f),
		byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	return append(b, payload...)
}

// be32 is the big-endian encoding of v, for building payloads by hand.
func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// setting is the 6-octet wire form of one SETTINGS entry.
func setting(id SettingID, v uint32) []byte {
	return append([]byte{byte(id >> 8), byte(id)}, be32(v)...)
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// splitFrame splits one whole frame into its parsed header and its payload and
// fails the test unless b holds exactly one frame.
func splitFrame(t testing.TB, b []byte) (FrameHeader, []byte) {
	t.Helper()
	if len(b) < FrameHeaderLen {
		t.Fatalf("frame of %d bytes is shorter than a header", len(b))
	}
	h := ParseFrameHeader(b)
	if int(h.Length) != len(b)-FrameHeaderLen {
		t.Fatalf("header length %d, but %d payload bytes follow", h.Length, len(b)-FrameHeaderLen)
	}
	return h, b[FrameHeaderLen:]
}

// parsedFrame holds the result of parseFrame: the header and the one field
// group that matches h.Type. Slices borrow the parsed payload.
type parsedFrame struct {
	h        FrameHeader
	data     DataFrame        // FrameData
	headers  HeadersFrame     // FrameHeaders
	priority PriorityParam    // FramePriority
	code     ErrCode          // FrameRSTStream
	settings SettingsFrame    // FrameSettings
	push     PushPromiseFrame // FramePushPromise
	ping     [8]byte          // FramePing
	goAway   GoAwayFrame      // FrameGoAway
	incr     uint32           // FrameWindowUpdate
	frag     []byte           // FrameContinuation
}

// parseFrame is the test suite's dispatcher: it checks the frame size and
// hands the payload to the parser for h.Type. Unknown types parse to just
// their header, as a receiver skips them (RFC 9113 §4.1, §5.5). It allocates
// nothing on success.
func parseFrame(h FrameHeader, p []byte, maxFrameSize uint32) (parsedFrame, error) {
	fr := parsedFrame{h: h}
	if err := CheckFrameSize(h, maxFrameSize); err != nil {
		return fr, err
	}
	var err error
	switch h.Type {
	case FrameData:
		fr.data, err = ParseData(h, p)
	case FrameHeaders:
		fr.headers, err = ParseHeaders(h, p)
	case FramePriority:
		fr.priority, err = ParsePriority(h, p)
	case FrameRSTStream:
		fr.code, err = ParseRSTStream(h, p)
	case FrameSettings:
		fr.settings, err = ParseSettings(h, p)
	case FramePushPromise:
		fr.push, err = ParsePushPromise(h, p)
	case FramePing:
		fr.ping, err = ParsePing(h, p)
	case FrameGoAway:
		fr.goAway, err = ParseGoAway(h, p)
	case FrameWindowUpdate:
		fr.incr, err = ParseWindowUpdate(h, p)
	case FrameContinuation:
		fr.frag, err = ParseContinuation(h, p)
	}
	return fr, err
}

// wantConnErr checks that err is exactly the sentinel want, that it is a
// *ConnError (and not a *StreamError) and carries want's code.
func wantConnErr(t testing.TB, err error, want *ConnError) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want connection error %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *ConnError", err, err)
	}
	var se *StreamError
	if errors.As(err, &se) {
		t.Fatalf("error %v is also a *StreamError", err)
	}
	if ce.Code != want.Code {
		t.Fatalf("code %v, want %v", ce.Code, want.Code)
	}
}

// wantStreamErr checks that err is a *StreamError (not a *ConnError) for
// stream id with the given code.
func wantStreamErr(t testing.TB, err error, id uint32, code ErrCode) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want stream error %v on stream %d", code, id)
	}
	var se *StreamError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *StreamError", err, err)
	}
	var ce *ConnError
	if errors.As(err, &ce) {
		t.Fatalf("error %v is also a *ConnError", err)
	}
	if se.StreamID != id || se.Code != code {
		t.Fatalf("stream error (stream %d, %v), want (stream %d, %v)", se.StreamID, se.Code, id, code)
	}
}

func TestParseFrameHeader(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want FrameHeader
	}{
		{"zero", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}, FrameHeader{}},
		{"fields", []byte{0x01, 0x02, 0x03, 0x01, 0x25, 0x00, 0x00, 0x01, 0x05},
			FrameHeader{Length: 0x010203, Type: FrameHeaders, Flags: FlagEndStream | FlagEndHeaders | FlagPriority, StreamID: 0x105}},
		{"max length and id", []byte{0xff, 0xff, 0xff, 0x09, 0xff, 0x7f, 0xff, 0xff, 0xff},
			FrameHeader{Length: 1<<24 - 1, Type: FrameContinuation, Flags: 0xff, StreamID: MaxStreamID}},
		// "R: A reserved 1-bit field. ... MUST remain unset (0x00) when sending
		// and MUST be ignored when receiving" (RFC 9113 §4.1).
		{"reserved bit ignored", []byte{0, 0, 4, 0x08, 0, 0x80, 0x00, 0x00, 0x03},
			FrameHeader{Length: 4, Type: FrameWindowUpdate, StreamID: 3}},
		{"reserved bit alone", []byte{0, 0, 8, 0x06, 0x01, 0x80, 0, 0, 0},
			FrameHeader{Length: 8, Type: FramePing, Flags: FlagAck, StreamID: 0}},
		{"unknown type", []byte{0, 0, 0, 0xfa, 0x10, 0, 0, 0, 7},
			FrameHeader{Type: 0xfa, Flags: 0x10, StreamID: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Trailing bytes must not matter.
			in := append(append([]byte(nil), tt.in...), 0xee, 0xee)
			if got := ParseFrameHeader(in); got != tt.want {
				t.Fatalf("ParseFrameHeader(% x) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseFrameHeaderShortPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("ParseFrameHeader of 8 bytes did not panic")
		}
	}()
	ParseFrameHeader(make([]byte, 8))
}

func TestAppendFrameHeader(t *testing.T) {
	tests := []struct {
		h    FrameHeader
		want []byte
	}{
		{FrameHeader{}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{FrameHeader{Length: 0xabcdef, Type: FrameGoAway, Flags: 0x5a, StreamID: 0x01020304},
			[]byte{0xab, 0xcd, 0xef, 0x07, 0x5a, 0x01, 0x02, 0x03, 0x04}},
		// The reserved bit "MUST remain unset (0x00) when sending" (§4.1).
		{FrameHeader{Type: FrameData, StreamID: 0x80000001}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}},
		{FrameHeader{Type: FrameData, StreamID: 0xffffffff}, []byte{0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		prefix := []byte("xy")
		got := AppendFrameHeader(prefix, tt.h)
		if !bytes.Equal(got, append([]byte("xy"), tt.want...)) {
			t.Errorf("AppendFrameHeader(%+v) = % x, want xy + % x", tt.h, got, tt.want)
		}
		back := ParseFrameHeader(got[2:])
		want := tt.h
		want.StreamID &= MaxStreamID
		if back != want {
			t.Errorf("round trip of %+v gave %+v", tt.h, back)
		}
	}
}

func TestFrameTypeKnownAndString(t *testing.T) {
	names := map[FrameType]string{
		FrameData: "DATA", FrameHeaders: "HEADERS", FramePriority: "PRIORITY",
		FrameRSTStream: "RST_STREAM", FrameSettings: "SETTINGS", FramePushPromise: "PUSH_PROMISE",
		FramePing: "PING", FrameGoAway: "GOAWAY", FrameWindowUpdate: "WINDOW_UPDATE",
		FrameContinuation: "CONTINUATION",
	}
	for v := 0; v < 256; v++ {
		ft := FrameType(v)
		name, defined := names[ft]
		if ft.Known() != defined {
			t.Errorf("FrameType(%#x).Known() = %v, want %v", v, ft.Known(), defined)
		}
		if !defined {
			name = "UNKNOWN"
		}
		if ft.String() != name {
			t.Errorf("FrameType(%#x).String() = %q, want %q", v, ft.String(), name)
		}
	}
	// Extension frame types registered after RFC 9113 are unknown to this
	// package and must be skipped (§5.5): ALTSVC 0xa, ORIGIN 0xc, PRIORITY_UPDATE 0x10.
	for _, ft := range []FrameType{0xa, 0xc, 0x10} {
		if ft.Known() {
			t.Errorf("extension type %#x reported as known", uint8(ft))
		}
	}
}

func TestFlagsHas(t *testing.T) {
	f := FlagEndStream | FlagPadded
	if !f.Has(FlagEndStream) || !f.Has(FlagPadded) || !f.Has(FlagEndStream|FlagPadded) || !f.Has(0) {
		t.Fatal("Has missed set bits")
	}
	if f.Has(FlagEndHeaders) || f.Has(FlagPadded|FlagPriority) {
		t.Fatal("Has reported unset bits")
	}
	if FlagAck != FlagEndStream {
		t.Fatal("ACK and END_STREAM share bit 0x1 (§6.5, §6.7, §6.1)")
	}
}

func TestErrCodeString(t *testing.T) {
	tests := map[ErrCode]string{
		ErrCodeNo: "NO_ERROR", ErrCodeProtocol: "PROTOCOL_ERROR", ErrCodeInternal: "INTERNAL_ERROR",
		ErrCodeFlowControl: "FLOW_CONTROL_ERROR", ErrCodeSettingsTimeout: "SETTINGS_TIMEOUT",
		ErrCodeStreamClosed: "STREAM_CLOSED", ErrCodeFrameSize: "FRAME_SIZE_ERROR",
		ErrCodeRefusedStream: "REFUSED_STREAM", ErrCodeCancel: "CANCEL",
		ErrCodeCompression: "COMPRESSION_ERROR", ErrCodeConnect: "CONNECT_ERROR",
		ErrCodeEnhanceYourCalm: "ENHANCE_YOUR_CALM", ErrCodeInadequateSecurity: "INADEQUATE_SECURITY",
		ErrCodeHTTP11Required: "HTTP_1_1_REQUIRED", 0xe: "ERR_0xe", 0xdeadbeef: "ERR_0xdeadbeef",
	}
	for c, want := range tests {
		if c.String() != want {
			t.Errorf("ErrCode(%#x).String() = %q, want %q", uint32(c), c.String(), want)
		}
	}
}

func TestErrorStrings(t *testing.T) {
	ce := &ConnError{Code: ErrCodeFrameSize, Reason: "too big"}
	if got, want := ce.Error(), "connection error: FRAME_SIZE_ERROR: too big"; got != want {
		t.Errorf("ConnError.Error() = %q, want %q", got, want)
	}
	se := &StreamError{StreamID: 7, Code: ErrCodeProtocol, Reason: "bad"}
	if got, want := se.Error(), "stream error: stream 7: PROTOCOL_ERROR: bad"; got != want {
		t.Errorf("StreamError.Error() = %q, want %q", got, want)
	}
	// Every sentinel is a connection error with a reason.
	sentinels := []*ConnError{ErrFrameTooLarge, ErrPadding, ErrShortPayload, ErrStreamIDZero,
		ErrStreamIDNonZero, ErrPriorityLength, ErrRSTStreamLength, ErrSettingsLength,
		ErrSettingsAckLength, ErrPingLength, ErrGoAwayLength, ErrWindowUpdateLength,
		ErrSettingEnablePush, ErrSettingInitialWindow, ErrSettingMaxFrameSize,
		ErrSettingEnableConnect, ErrWindowUpdateZeroConn, ErrPushPromiseFromClient}
	for _, s := range sentinels {
		if s.Reason == "" || !strings.HasPrefix(s.Error(), "connection error: "+s.Code.String()+": ") {
			t.Errorf("sentinel %q badly formed", s.Error())
		}
	}
}

func TestCheckFrameSize(t *testing.T) {
	tests := []struct {
		length, max uint32
		ok          bool
	}{
		{0, DefaultMaxFrameSize, true},
		{DefaultMaxFrameSize, DefaultMaxFrameSize, true},
		{DefaultMaxFrameSize + 1, DefaultMaxFrameSize, false},
		{1<<24 - 1, DefaultMaxFrameSize, false},
		{1<<24 - 1, MaxFrameSizeLimit, true},
		{20000, 20000, true},
		{20001, 20000, false},
	}
	for _, tt := range tests {
		for _, ft := range []FrameType{FrameData, FrameHeaders, FrameSettings, FramePing, 0xee} {
			h := FrameHeader{Length: tt.length, Type: ft, StreamID: 1}
			err := CheckFrameSize(h, tt.max)
			if tt.ok {
				if err != nil {
					t.Errorf("CheckFrameSize(len %d, %v, max %d) = %v, want nil", tt.length, ft, tt.max, err)
				}
				continue
			}
			// "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a
			// frame exceeds the size defined in SETTINGS_MAX_FRAME_SIZE" (§4.2).
			wantConnErr(t, err, ErrFrameTooLarge)
			if ErrFrameTooLarge.Code != ErrCodeFrameSize {
				t.Fatalf("ErrFrameTooLarge code %v", ErrFrameTooLarge.Code)
			}
		}
	}
}
