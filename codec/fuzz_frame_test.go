package codec

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzFrameParse splits its input into frames (9-octet header, then
// Length octets of payload; a trailing partial frame is left alone, as a
// receiver would wait for more bytes) and hands each one to parseFrame with
// the fuzzed SETTINGS_MAX_FRAME_SIZE. For every frame it checks that
//   - nothing panics,
//   - the result (success, or the exact error value, its kind and code) is
//     the one predicted by frameModel, an independent re-statement of the
//     rules of RFC 9113 §4.2 and §6 over the raw bytes,
//   - a frame that parses re-appends (with the matching AppendX) to bytes
//     that parse back to the same values, and, where the input encoding is
//     canonical (no unknown flags, reserved bits clear, no padding the
//     appenders cannot express), to the very same bytes.
func FuzzFrameParse(f *testing.F) {
	for _, seed := range fuzzFrameSeeds() {
		f.Add(seed, uint32(DefaultMaxFrameSize))
	}
	// A stream of one small frame of each kind under a few limits.
	var all []byte
	for _, c := range parseCases {
		if len(c.frame) <= maxSeedFrame {
			all = append(all, c.frame...)
		}
	}
	all = append(all, AppendData(nil, 1, true, []byte("small"))...)
	f.Add(all, uint32(DefaultMaxFrameSize))
	f.Add(all, uint32(100))
	f.Add(all, uint32(0))
	f.Add(all, uint32(MaxFrameSizeLimit))
	f.Fuzz(func(t *testing.T, in []byte, maxFrameSize uint32) {
		for len(in) >= FrameHeaderLen {
			h := ParseFrameHeader(in)
			n := FrameHeaderLen + int(h.Length)
			if n > len(in) {
				return // partial frame
			}
			raw, p := in[:n], in[FrameHeaderLen:n]
			in = in[n:]

			fr, err := parseFrame(h, p, maxFrameSize)
			checkModel(t, raw, err, maxFrameSize)
			if err != nil || !h.Type.Known() {
				continue
			}
			checkInvariants(t, fr, p)
			checkRoundTrip(t, raw, fr)
		}
	})
}

// maxSeedFrame bounds the seeds taken from the benchmark tables: the fuzzer
// spends a long time minimizing large interesting inputs, and small frames
// reach the same code.
const maxSeedFrame = 256

// fuzzFrameSeeds returns well-formed frames from every appender (the large
// ones rebuilt small), the violating frames of the table tests and a few odd
// streams.
func fuzzFrameSeeds() [][]byte {
	var seeds [][]byte
	for _, c := range appendCases {
		if b := c.append(nil); len(b) <= maxSeedFrame {
			seeds = append(seeds, b)
		}
	}
	seeds = append(seeds,
		AppendData(nil, 1, false, []byte("hello")),
		AppendDataPadded(nil, 3, true, []byte("hello"), 4),
		cat(AppendHeaders(nil, 5, true, false, []byte{0x82, 0x86}), AppendContinuation(nil, 5, false, []byte{0x84}),
			AppendContinuation(nil, 5, true, []byte{0x41, 0x0f})),
	)
	for _, v := range violations {
		seeds = append(seeds, v.frame)
	}
	seeds = append(seeds,
		nil,
		[]byte(ClientPreface),
		rawFrame(0xfa, 0xff, 0x80000001, 1, 2, 3),                                                     // unknown type
		rawFrame(FrameData, FlagPadded|0x80, 0x80000003, 2, 'x', 1, 2),                                // non-zero padding, unknown flag
		rawFrame(FrameHeaders, FlagPadded|FlagPriority, 1, cat([]byte{1}, prio5, []byte{0x82, 0})...), // padded + priority
		rawFrame(FramePushPromise, FlagPadded|FlagEndHeaders, 1, cat([]byte{2}, be32(0x80000002), []byte{0x82, 0, 0})...),
		rawFrame(FrameGoAway, 0, 0, cat(be32(0xffffffff), be32(0xffffffff))...),
		cat(AppendSettings(nil, Setting{SettingMaxFrameSize, 1 << 20}), AppendSettingsAck(nil),
			AppendWindowUpdate(nil, 0, 1<<30), AppendHeaders(nil, 1, false, true, []byte{0x82}),
			AppendDataPadded(nil, 1, true, []byte("body"), 7)),
		AppendFrameHeader(nil, FrameHeader{Length: 1<<24 - 1, Type: FrameData, StreamID: 1}), // truncated
	)
	return seeds
}

// frameModel computes, from the raw bytes of one whole frame only, the error
// RFC 9113 requires: a connection error sentinel, or a stream error code
// (with stream == true), or neither for a frame that must be accepted.
func frameModel(raw []byte, maxFrameSize uint32) (conn *ConnError, stream bool, code ErrCode) {
	length := int(raw[0])<<16 | int(raw[1])<<8 | int(raw[2])
	typ, flags := raw[3], raw[4]
	id := uint32(raw[5]&0x7f)<<24 | uint32(raw[6])<<16 | uint32(raw[7])<<8 | uint32(raw[8])
	pl := raw[9:]
	u32 := func(b []byte) uint32 { return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) }
	padded := flags&0x08 != 0

	// padCheck applies §4.2 and §6.1/§6.2: the Pad Length octet (if PADDED)
	// and fixed octets must be present, and the padding must fit after them.
	padCheck := func(fixed int) *ConnError {
		need := fixed
		if padded {
			need++
		}
		if length < need {
			return ErrShortPayload
		}
		if padded && int(pl[0]) > length-need {
			return ErrPadding
		}
		return nil
	}

	if uint32(length) > maxFrameSize {
		return ErrFrameTooLarge, false, 0
	}
	switch typ {
	case 0x0: // DATA
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
		return padCheck(0), false, 0
	case 0x1: // HEADERS
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
		fixed := 0
		if flags&0x20 != 0 {
			fixed = 5
		}
		return padCheck(fixed), false, 0
	case 0x2: // PRIORITY
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
		if length != 5 {
			return nil, true, ErrCodeFrameSize
		}
	case 0x3: // RST_STREAM
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
		if length != 4 {
			return ErrRSTStreamLength, false, 0
		}
	case 0x4: // SETTINGS
		if id != 0 {
			return ErrStreamIDNonZero, false, 0
		}
		if flags&0x1 != 0 {
			if length != 0 {
				return ErrSettingsAckLength, false, 0
			}
			return nil, false, 0
		}
		if length%6 != 0 {
			return ErrSettingsLength, false, 0
		}
		for off := 0; off < length; off += 6 {
			sid, v := int(pl[off])<<8|int(pl[off+1]), u32(pl[off+2:])
			switch {
			case sid == 2 && v > 1:
				return ErrSettingEnablePush, false, 0
			case sid == 4 && v >= 1<<31:
				return ErrSettingInitialWindow, false, 0
			case sid == 5 && (v < 16384 || v >= 1<<24):
				return ErrSettingMaxFrameSize, false, 0
			case sid == 8 && v > 1:
				return ErrSettingEnableConnect, false, 0
			}
		}
	case 0x5: // PUSH_PROMISE
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
		return padCheck(4), false, 0
	case 0x6: // PING
		if id != 0 {
			return ErrStreamIDNonZero, false, 0
		}
		if length != 8 {
			return ErrPingLength, false, 0
		}
	case 0x7: // GOAWAY
		if id != 0 {
			return ErrStreamIDNonZero, false, 0
		}
		if length < 8 {
			return ErrGoAwayLength, false, 0
		}
	case 0x8: // WINDOW_UPDATE
		if length != 4 {
			return ErrWindowUpdateLength, false, 0
		}
		if u32(pl)&0x7fffffff == 0 {
			if id == 0 {
				return ErrWindowUpdateZeroConn, false, 0
			}
			return nil, true, ErrCodeProtocol
		}
	case 0x9: // CONTINUATION
		if id == 0 {
			return ErrStreamIDZero, false, 0
		}
	}
	return nil, false, 0
}

// checkModel compares the parser's error with frameModel's prediction.
func checkModel(t *testing.T, raw []byte, err error, maxFrameSize uint32) {
	t.Helper()
	conn, stream, code := frameModel(raw, maxFrameSize)
	h := ParseFrameHeader(raw)
	switch {
	case conn != nil:
		if err != conn {
			t.Fatalf("frame % x (max %d): got error %v, want %v", raw, maxFrameSize, err, conn)
		}
	case stream:
		var se *StreamError
		if !errors.As(err, &se) || se.StreamID != h.StreamID || se.StreamID == 0 || se.Code != code {
			t.Fatalf("frame % x: got error %v, want stream error %v on stream %d", raw, err, code, h.StreamID)
		}
		var ce *ConnError
		if errors.As(err, &ce) {
			t.Fatalf("frame % x: stream error %v is also a connection error", raw, err)
		}
	default:
		if err != nil {
			t.Fatalf("frame % x (max %d): unexpected error %v", raw, maxFrameSize, err)
		}
	}
}

// checkInvariants checks relations between a parsed frame and its payload p.
func checkInvariants(t *testing.T, fr parsedFrame, p []byte) {
	t.Helper()
	switch fr.h.Type {
	case FrameData:
		d := fr.data
		pad := 0
		if fr.h.Flags.Has(FlagPadded) {
			pad = 1 + int(d.PadLen)
		}
		if d.FlowLen != uint32(len(p)) || len(d.Data)+pad != len(p) {
			t.Fatalf("DATA: FlowLen %d, %d data, pad %d for a %d-octet payload", d.FlowLen, len(d.Data), pad, len(p))
		}
		if d.StreamID != fr.h.StreamID || d.EndStream != fr.h.Flags.Has(FlagEndStream) {
			t.Fatalf("DATA: header fields lost: %+v", d)
		}
	case FrameHeaders:
		if !bytes.HasSuffix(p[:len(p)-padTail(fr.h, p)], fr.headers.Fragment) {
			t.Fatal("HEADERS fragment is not the payload before the padding")
		}
	case FrameSettings:
		if fr.settings.Len()*6 != len(p) {
			t.Fatalf("SETTINGS: %d entries in %d octets", fr.settings.Len(), len(p))
		}
	case FrameGoAway:
		if !bytes.Equal(fr.goAway.DebugData, p[8:]) {
			t.Fatal("GOAWAY debug data is not the payload tail")
		}
	case FrameContinuation:
		if !bytes.Equal(fr.frag, p) {
			t.Fatal("CONTINUATION fragment is not the payload")
		}
	}
}

// padTail is the number of trailing padding octets of a PADDED payload.
func padTail(h FrameHeader, p []byte) int {
	if h.Flags.Has(FlagPadded) {
		return int(p[0])
	}
	return 0
}

// reappend encodes fr again with the appender for its type.
func reappend(fr parsedFrame) []byte {
	h := fr.h
	switch h.Type {
	case FrameData:
		if h.Flags.Has(FlagPadded) {
			return AppendDataPadded(nil, fr.data.StreamID, fr.data.EndStream, fr.data.Data, fr.data.PadLen)
		}
		return AppendData(nil, fr.data.StreamID, fr.data.EndStream, fr.data.Data)
	case FrameHeaders:
		f := fr.headers
		if f.HasPriority {
			return AppendHeadersPriority(nil, f.StreamID, f.EndStream, f.EndHeaders, f.Priority, f.Fragment)
		}
		return AppendHeaders(nil, f.StreamID, f.EndStream, f.EndHeaders, f.Fragment)
	case FramePriority:
		return AppendPriority(nil, h.StreamID, fr.priority)
	case FrameRSTStream:
		return AppendRSTStream(nil, h.StreamID, fr.code)
	case FrameSettings:
		if fr.settings.Ack {
			return AppendSettingsAck(nil)
		}
		list := make([]Setting, fr.settings.Len())
		for i := range list {
			list[i] = fr.settings.At(i)
		}
		return AppendSettings(nil, list...)
	case FramePushPromise:
		f := fr.push
		return AppendPushPromise(nil, f.StreamID, f.PromisedStreamID, f.EndHeaders, f.Fragment)
	case FramePing:
		return AppendPing(nil, h.Flags.Has(FlagAck), fr.ping)
	case FrameGoAway:
		return AppendGoAway(nil, fr.goAway.LastStreamID, fr.goAway.Code, fr.goAway.DebugData)
	case FrameWindowUpdate:
		return AppendWindowUpdate(nil, h.StreamID, fr.incr)
	case FrameContinuation:
		return AppendContinuation(nil, h.StreamID, h.Flags.Has(FlagEndHeaders), fr.frag)
	}
	panic("reappend: unknown type " + h.Type.String())
}

// definedFlags are the flags each frame type defines that its appender can
// express (HEADERS and PUSH_PROMISE have no padded appender).
var definedFlags = [...]Flags{
	FrameData:         FlagEndStream | FlagPadded,
	FrameHeaders:      FlagEndStream | FlagEndHeaders | FlagPriority,
	FramePriority:     0,
	FrameRSTStream:    0,
	FrameSettings:     FlagAck,
	FramePushPromise:  FlagEndHeaders,
	FramePing:         FlagAck,
	FrameGoAway:       0,
	FrameWindowUpdate: 0,
	FrameContinuation: FlagEndHeaders,
}

// canonical reports whether raw, a frame that parsed, is exactly what the
// appenders produce for its values.
func canonical(raw []byte) bool {
	h := ParseFrameHeader(raw)
	p := raw[FrameHeaderLen:]
	if raw[5]&0x80 != 0 || h.Flags&^definedFlags[h.Type] != 0 {
		return false
	}
	switch h.Type {
	case FrameData:
		if h.Flags.Has(FlagPadded) {
			for _, c := range p[len(p)-int(p[0]):] {
				if c != 0 {
					return false
				}
			}
		}
	case FramePushPromise, FrameGoAway, FrameWindowUpdate:
		return p[0]&0x80 == 0 // reserved bit of the promised id, last stream id, increment
	}
	return true
}

// sameValues reports whether two parsed frames carry the same values.
func sameValues(a, b parsedFrame) bool {
	if a.h.Type != b.h.Type || a.h.StreamID != b.h.StreamID {
		return false
	}
	switch a.h.Type {
	case FrameData:
		x, y := a.data, b.data
		return x.StreamID == y.StreamID && x.EndStream == y.EndStream && bytes.Equal(x.Data, y.Data) &&
			x.PadLen == y.PadLen && x.FlowLen == y.FlowLen
	case FrameHeaders:
		return withoutFragment(a.headers) == withoutFragment(b.headers) && bytes.Equal(a.headers.Fragment, b.headers.Fragment)
	case FramePriority:
		return a.priority == b.priority
	case FrameRSTStream:
		return a.code == b.code
	case FrameSettings:
		if a.settings.Ack != b.settings.Ack || a.settings.Len() != b.settings.Len() {
			return false
		}
		for i := 0; i < a.settings.Len(); i++ {
			if a.settings.At(i) != b.settings.At(i) {
				return false
			}
		}
		return true
	case FramePushPromise:
		x, y := a.push, b.push
		return x.StreamID == y.StreamID && x.PromisedStreamID == y.PromisedStreamID && x.EndHeaders == y.EndHeaders &&
			bytes.Equal(x.Fragment, y.Fragment)
	case FramePing:
		return a.ping == b.ping && a.h.Flags.Has(FlagAck) == b.h.Flags.Has(FlagAck)
	case FrameGoAway:
		x, y := a.goAway, b.goAway
		return x.LastStreamID == y.LastStreamID && x.Code == y.Code && bytes.Equal(x.DebugData, y.DebugData)
	case FrameWindowUpdate:
		return a.incr == b.incr
	case FrameContinuation:
		return bytes.Equal(a.frag, b.frag) && a.h.Flags.Has(FlagEndHeaders) == b.h.Flags.Has(FlagEndHeaders)
	}
	return false
}

// checkRoundTrip re-appends a parsed frame and parses the result again.
func checkRoundTrip(t *testing.T, raw []byte, fr parsedFrame) {
	t.Helper()
	out := reappend(fr)
	if len(out) > len(raw) {
		t.Fatalf("re-appended frame grew from %d to %d octets", len(raw), len(out))
	}
	h2 := ParseFrameHeader(out)
	if int(h2.Length) != len(out)-FrameHeaderLen {
		t.Fatalf("re-appended frame % x has a wrong length field", out)
	}
	fr2, err := parseFrame(h2, out[FrameHeaderLen:], MaxFrameSizeLimit)
	if err != nil {
		t.Fatalf("re-appended frame % x (from % x) does not parse: %v", out, raw, err)
	}
	if !sameValues(fr, fr2) {
		t.Fatalf("round trip changed values:\n in % x\nout % x", raw, out)
	}
	if canonical(raw) && !bytes.Equal(out, raw) {
		t.Fatalf("canonical frame re-appended differently:\n in % x\nout % x", raw, out)
	}
}

// TestFuzzFrameSeeds runs the fuzz checks over the seeds in every ordinary
// test run, and checks that the canonical seeds really are byte-identical
// after a round trip (so the canonical branch is exercised).
func TestFuzzFrameSeeds(t *testing.T) {
	roundTrips := 0
	for _, seed := range fuzzFrameSeeds() {
		for in := seed; len(in) >= FrameHeaderLen; {
			h := ParseFrameHeader(in)
			n := FrameHeaderLen + int(h.Length)
			if n > len(in) {
				break
			}
			raw := in[:n]
			in = in[n:]
			fr, err := parseFrame(h, raw[FrameHeaderLen:], DefaultMaxFrameSize)
			checkModel(t, raw, err, DefaultMaxFrameSize)
			if err == nil && h.Type.Known() {
				checkInvariants(t, fr, raw[FrameHeaderLen:])
				checkRoundTrip(t, raw, fr)
				if canonical(raw) {
					roundTrips++
				}
			}
		}
	}
	if roundTrips < len(appendCases) {
		t.Fatalf("only %d canonical round trips among the seeds", roundTrips)
	}
}
