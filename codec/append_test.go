package codec

import (
	"bytes"
	"fmt"
	"testing"
)

// appendedFrame appends one frame with f after a non-empty prefix, checks that
// the prefix is kept, and returns the frame's header and payload.
func appendedFrame(t *testing.T, f func(dst []byte) []byte) (FrameHeader, []byte) {
	t.Helper()
	prefix := []byte("prefix")
	out := f(append([]byte(nil), prefix...))
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("appender overwrote dst: % x", out)
	}
	return splitFrame(t, out[len(prefix):])
}

// wantHeader compares a parsed header with the expected fields.
func wantHeader(t *testing.T, got FrameHeader, ft FrameType, flags Flags, id uint32) {
	t.Helper()
	if got.Type != ft || got.Flags != flags || got.StreamID != id {
		t.Fatalf("header %+v, want type %v flags %#x stream %d", got, ft, flags, id)
	}
}

func TestRoundTripData(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("d"), DefaultMaxFrameSize)} {
		for _, end := range []bool{false, true} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendData(dst, 5, end, data) })
			var flags Flags
			if end {
				flags = FlagEndStream
			}
			wantHeader(t, h, FrameData, flags, 5)
			d, err := ParseData(h, p)
			if err != nil || d.StreamID != 5 || d.EndStream != end || !bytes.Equal(d.Data, data) || d.PadLen != 0 || d.FlowLen != uint32(len(data)) {
				t.Fatalf("ParseData(AppendData(%d bytes, %v)) = %+v, %v", len(data), end, d, err)
			}
			for _, pad := range []uint8{0, 1, 255} {
				h, p := appendedFrame(t, func(dst []byte) []byte { return AppendDataPadded(dst, 7, end, data, pad) })
				wantHeader(t, h, FrameData, flags|FlagPadded, 7)
				d, err := ParseData(h, p)
				if err != nil || d.StreamID != 7 || d.EndStream != end || !bytes.Equal(d.Data, data) || d.PadLen != pad ||
					d.FlowLen != uint32(1+len(data)+int(pad)) {
					t.Fatalf("ParseData(AppendDataPadded(%d bytes, pad %d)) = %+v, %v", len(data), pad, d, err)
				}
				// "Padding octets MUST be set to zero when sending" (§6.1).
				if !bytes.Equal(p[1+len(data):], make([]byte, pad)) {
					t.Fatalf("padding not zero: % x", p[1+len(data):])
				}
			}
		}
	}
}

func TestRoundTripHeaders(t *testing.T) {
	frag := []byte{0x82, 0x86, 0x84, 0x41, 0x0f}
	for _, endStream := range []bool{false, true} {
		for _, endHeaders := range []bool{false, true} {
			var flags Flags
			if endStream {
				flags |= FlagEndStream
			}
			if endHeaders {
				flags |= FlagEndHeaders
			}
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendHeaders(dst, 3, endStream, endHeaders, frag) })
			wantHeader(t, h, FrameHeaders, flags, 3)
			f, err := ParseHeaders(h, p)
			want := headersMeta{StreamID: 3, EndStream: endStream, EndHeaders: endHeaders}
			if err != nil || !bytes.Equal(f.Fragment, frag) || withoutFragment(f) != want {
				t.Fatalf("ParseHeaders(AppendHeaders) = %+v, %v", f, err)
			}
			for _, pp := range []PriorityParam{{}, {StreamDep: 1, Exclusive: true, Weight: 255}, {StreamDep: MaxStreamID, Weight: 15}} {
				h, p := appendedFrame(t, func(dst []byte) []byte {
					return AppendHeadersPriority(dst, 9, endStream, endHeaders, pp, frag)
				})
				wantHeader(t, h, FrameHeaders, flags|FlagPriority, 9)
				f, err := ParseHeaders(h, p)
				want := headersMeta{StreamID: 9, EndStream: endStream, EndHeaders: endHeaders, HasPriority: true, Priority: pp}
				if err != nil || !bytes.Equal(f.Fragment, frag) || withoutFragment(f) != want {
					t.Fatalf("ParseHeaders(AppendHeadersPriority(%+v)) = %+v, %v", pp, f, err)
				}
			}
		}
	}
}

// headersMeta is a HeadersFrame without its fragment, comparable with ==.
type headersMeta struct {
	StreamID                           uint32
	EndStream, EndHeaders, HasPriority bool
	Priority                           PriorityParam
}

// withoutFragment returns the comparable fields of f.
func withoutFragment(f HeadersFrame) headersMeta {
	return headersMeta{f.StreamID, f.EndStream, f.EndHeaders, f.HasPriority, f.Priority}
}

func TestRoundTripControlFrames(t *testing.T) {
	t.Run("PRIORITY", func(t *testing.T) {
		for _, pp := range []PriorityParam{{}, {StreamDep: 3, Exclusive: true, Weight: 200}, {StreamDep: MaxStreamID, Weight: 255}} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendPriority(dst, 11, pp) })
			wantHeader(t, h, FramePriority, 0, 11)
			got, err := ParsePriority(h, p)
			if err != nil || got != pp {
				t.Fatalf("ParsePriority(AppendPriority(%+v)) = %+v, %v", pp, got, err)
			}
		}
	})
	t.Run("RST_STREAM", func(t *testing.T) {
		for _, code := range []ErrCode{ErrCodeNo, ErrCodeCancel, ErrCodeHTTP11Required, 0xffffffff} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendRSTStream(dst, 1, code) })
			wantHeader(t, h, FrameRSTStream, 0, 1)
			got, err := ParseRSTStream(h, p)
			if err != nil || got != code {
				t.Fatalf("ParseRSTStream(AppendRSTStream(%v)) = %v, %v", code, got, err)
			}
		}
	})
	t.Run("SETTINGS", func(t *testing.T) {
		lists := [][]Setting{nil, {{SettingMaxFrameSize, 1 << 20}},
			{{SettingHeaderTableSize, 0}, {SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 100},
				{SettingInitialWindowSize, MaxWindowSize}, {SettingMaxFrameSize, DefaultMaxFrameSize},
				{SettingMaxHeaderListSize, 1 << 16}, {SettingEnableConnectProtocol, 1}, {0xabcd, 0xffffffff}}}
		for _, list := range lists {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendSettings(dst, list...) })
			wantHeader(t, h, FrameSettings, 0, 0)
			f, err := ParseSettings(h, p)
			if err != nil || f.Ack || f.Len() != len(list) {
				t.Fatalf("ParseSettings(AppendSettings(%v)) = %+v, %v", list, f, err)
			}
			for i, s := range list {
				if f.At(i) != s {
					t.Fatalf("At(%d) = %+v, want %+v", i, f.At(i), s)
				}
			}
		}
		h, p := appendedFrame(t, AppendSettingsAck)
		wantHeader(t, h, FrameSettings, FlagAck, 0)
		if f, err := ParseSettings(h, p); err != nil || !f.Ack || f.Len() != 0 {
			t.Fatalf("ParseSettings(AppendSettingsAck) = %+v, %v", f, err)
		}
	})
	t.Run("PUSH_PROMISE", func(t *testing.T) {
		frag := []byte{0x82, 0x87}
		for _, end := range []bool{false, true} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendPushPromise(dst, 1, 0x80000002, end, frag) })
			var flags Flags
			if end {
				flags = FlagEndHeaders
			}
			wantHeader(t, h, FramePushPromise, flags, 1)
			f, err := ParsePushPromise(h, p)
			if err != nil || f.StreamID != 1 || f.PromisedStreamID != 2 || f.EndHeaders != end || !bytes.Equal(f.Fragment, frag) {
				t.Fatalf("ParsePushPromise(AppendPushPromise) = %+v, %v", f, err)
			}
		}
	})
	t.Run("PING", func(t *testing.T) {
		data := [8]byte{8, 7, 6, 5, 4, 3, 2, 1}
		for _, ack := range []bool{false, true} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendPing(dst, ack, data) })
			var flags Flags
			if ack {
				flags = FlagAck
			}
			wantHeader(t, h, FramePing, flags, 0)
			got, err := ParsePing(h, p)
			if err != nil || got != data {
				t.Fatalf("ParsePing(AppendPing) = %v, %v", got, err)
			}
		}
	})
	t.Run("GOAWAY", func(t *testing.T) {
		for _, debug := range [][]byte{nil, []byte("shutting down")} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendGoAway(dst, 0xffffffff, ErrCodeProtocol, debug) })
			wantHeader(t, h, FrameGoAway, 0, 0)
			f, err := ParseGoAway(h, p)
			if err != nil || f.LastStreamID != MaxStreamID || f.Code != ErrCodeProtocol || !bytes.Equal(f.DebugData, debug) {
				t.Fatalf("ParseGoAway(AppendGoAway) = %+v, %v", f, err)
			}
		}
	})
	t.Run("WINDOW_UPDATE", func(t *testing.T) {
		for _, id := range []uint32{0, 3} {
			for _, incr := range []uint32{1, 65535, MaxWindowSize} {
				h, p := appendedFrame(t, func(dst []byte) []byte { return AppendWindowUpdate(dst, id, incr) })
				wantHeader(t, h, FrameWindowUpdate, 0, id)
				got, err := ParseWindowUpdate(h, p)
				if err != nil || got != incr {
					t.Fatalf("ParseWindowUpdate(AppendWindowUpdate(%d, %d)) = %d, %v", id, incr, got, err)
				}
			}
		}
	})
	t.Run("CONTINUATION", func(t *testing.T) {
		frag := []byte{1, 2, 3}
		for _, end := range []bool{false, true} {
			h, p := appendedFrame(t, func(dst []byte) []byte { return AppendContinuation(dst, 13, end, frag) })
			var flags Flags
			if end {
				flags = FlagEndHeaders
			}
			wantHeader(t, h, FrameContinuation, flags, 13)
			got, err := ParseContinuation(h, p)
			if err != nil || !bytes.Equal(got, frag) {
				t.Fatalf("ParseContinuation(AppendContinuation) = %x, %v", got, err)
			}
		}
	})
}

// TestAppendExactBytes pins the wire form of a few frames, written out by
// hand from the layouts of RFC 9113 §4.1 and §6.
func TestAppendExactBytes(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"SETTINGS ACK", AppendSettingsAck(nil),
			[]byte{0x00, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00}},
		{"SETTINGS", AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 0x01020304}),
			[]byte{0x00, 0x00, 0x0c, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x03, 0x00, 0x00, 0x00, 0x64,
				0x00, 0x04, 0x01, 0x02, 0x03, 0x04}},
		{"PING ACK", AppendPing(nil, true, [8]byte{'h', '2', 'l', 'o', 'o', 'p', 0, 1}),
			[]byte{0x00, 0x00, 0x08, 0x06, 0x01, 0x00, 0x00, 0x00, 0x00, 'h', '2', 'l', 'o', 'o', 'p', 0x00, 0x01}},
		{"WINDOW_UPDATE", AppendWindowUpdate(nil, 0x01020304, 0x80000010),
			[]byte{0x00, 0x00, 0x04, 0x08, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x10}},
		{"RST_STREAM", AppendRSTStream(nil, 1, ErrCodeRefusedStream),
			[]byte{0x00, 0x00, 0x04, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07}},
		{"GOAWAY", AppendGoAway(nil, 0x80000101, ErrCodeEnhanceYourCalm, []byte("hi")),
			[]byte{0x00, 0x00, 0x0a, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
				0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x0b, 'h', 'i'}},
		{"DATA END_STREAM", AppendData(nil, 3, true, []byte("ok")),
			[]byte{0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 'o', 'k'}},
		{"DATA padded", AppendDataPadded(nil, 3, false, []byte("ok"), 3),
			[]byte{0x00, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x03, 'o', 'k', 0x00, 0x00, 0x00}},
		{"HEADERS", AppendHeaders(nil, 1, true, true, []byte{0x88}),
			[]byte{0x00, 0x00, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00, 0x01, 0x88}},
		{"HEADERS priority", AppendHeadersPriority(nil, 5, false, true, PriorityParam{StreamDep: 3, Exclusive: true, Weight: 255}, []byte{0x88}),
			[]byte{0x00, 0x00, 0x06, 0x01, 0x24, 0x00, 0x00, 0x00, 0x05, 0x80, 0x00, 0x00, 0x03, 0xff, 0x88}},
		{"PRIORITY", AppendPriority(nil, 5, PriorityParam{StreamDep: 0x80000003, Weight: 16}),
			[]byte{0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x03, 0x10}},
		{"PUSH_PROMISE", AppendPushPromise(nil, 1, 0x80000002, true, []byte{0x82}),
			[]byte{0x00, 0x00, 0x05, 0x05, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x82}},
		{"CONTINUATION", AppendContinuation(nil, 0x7fffffff, false, []byte{1, 2}),
			[]byte{0x00, 0x00, 0x02, 0x09, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s:\n got % x\nwant % x", tt.name, tt.got, tt.want)
		}
	}
}

// blockFrame is one frame found by walking the output of AppendHeaderBlock.
type blockFrame struct {
	h    FrameHeader
	frag []byte
}

// walkFrames splits b into whole frames and fails on a partial one.
func walkFrames(t *testing.T, b []byte) []blockFrame {
	t.Helper()
	var out []blockFrame
	for len(b) > 0 {
		if len(b) < FrameHeaderLen {
			t.Fatalf("%d trailing bytes", len(b))
		}
		h := ParseFrameHeader(b)
		n := FrameHeaderLen + int(h.Length)
		if n > len(b) {
			t.Fatalf("frame of %d bytes, %d left", n, len(b))
		}
		out = append(out, blockFrame{h, b[FrameHeaderLen:n]})
		b = b[n:]
	}
	return out
}

func TestAppendHeaderBlock(t *testing.T) {
	const m = DefaultMaxFrameSize
	tests := []struct {
		blockLen int
		max      uint32 // passed to AppendHeaderBlock
		frames   []int  // expected payload lengths
	}{
		{0, m, []int{0}},
		{1, m, []int{1}},
		{m - 1, m, []int{m - 1}},
		{m, m, []int{m}},
		{m + 1, m, []int{m, 1}},
		{2 * m, m, []int{m, m}},
		{2*m + 1, m, []int{m, m, 1}},
		{3*m + 100, m, []int{m, m, m, 100}},
		// A max below the RFC minimum is raised to 16384 (§6.5.2).
		{m + 1, 0, []int{m, 1}},
		{m + 1, 100, []int{m, 1}},
		// A larger advertised size is used as is.
		{40000, 20000, []int{20000, 20000}},
		{40001, 20000, []int{20000, 20000, 1}},
		{40000, 40000, []int{40000}},
		// Above 2^24-1 the size is clamped, so the 24-bit length never wraps.
		{MaxFrameSizeLimit + 1, 0xffffffff, []int{MaxFrameSizeLimit, 1}},
	}
	for _, tt := range tests {
		for _, endStream := range []bool{false, true} {
			name := fmt.Sprintf("len=%d/max=%d/end=%v", tt.blockLen, tt.max, endStream)
			t.Run(name, func(t *testing.T) {
				block := make([]byte, tt.blockLen)
				for i := range block {
					block[i] = byte(i * 7)
				}
				out := AppendHeaderBlock([]byte("pre"), 0x80000007, endStream, block, tt.max)
				if string(out[:3]) != "pre" {
					t.Fatal("prefix lost")
				}
				frames := walkFrames(t, out[3:])
				if len(frames) != len(tt.frames) {
					t.Fatalf("%d frames, want %d", len(frames), len(tt.frames))
				}
				var joined []byte
				for i, fr := range frames {
					last := i == len(frames)-1
					wantType := FrameContinuation
					var wantFlags Flags
					if i == 0 {
						wantType = FrameHeaders
						if endStream {
							// END_STREAM belongs on the HEADERS frame only;
							// CONTINUATION defines no such flag (§6.10).
							wantFlags |= FlagEndStream
						}
					}
					if last {
						wantFlags |= FlagEndHeaders
					}
					if fr.h.Type != wantType || fr.h.Flags != wantFlags || fr.h.StreamID != 7 || int(fr.h.Length) != tt.frames[i] {
						t.Fatalf("frame %d: %+v, want type %v flags %#x stream 7 length %d", i, fr.h, wantType, wantFlags, tt.frames[i])
					}
					// Each frame parses with its own parser.
					if i == 0 {
						f, err := ParseHeaders(fr.h, fr.frag)
						if err != nil || f.EndStream != endStream || f.EndHeaders != last || f.HasPriority {
							t.Fatalf("ParseHeaders: %+v, %v", withoutFragment(f), err)
						}
						joined = append(joined, f.Fragment...)
					} else {
						frag, err := ParseContinuation(fr.h, fr.frag)
						if err != nil {
							t.Fatal(err)
						}
						joined = append(joined, frag...)
					}
				}
				if !bytes.Equal(joined, block) {
					t.Fatal("fragments do not join to the block")
				}
			})
		}
	}
}
