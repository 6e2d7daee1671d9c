package codec

import "testing"

// Sinks keep the compiler from discarding the work measured below.
var (
	sinkData     DataFrame
	sinkHeaders  HeadersFrame
	sinkPriority PriorityParam
	sinkCode     ErrCode
	sinkSettings SettingsFrame
	sinkSetting  Setting
	sinkPush     PushPromiseFrame
	sinkPing     [8]byte
	sinkGoAway   GoAwayFrame
	sinkUint     uint32
	sinkBytes    []byte
)

// Inputs shared by the benchmarks and the allocation tests; built once.
var (
	benchPayload  = make([]byte, 1024)
	benchFragment = []byte{0x82, 0x86, 0x84, 0x41, 0x8a, 0x08, 0x9d, 0x5c, 0x0b, 0x81, 0x70, 0xdc, 0x78, 0x0f, 0x03}
	benchSettings = []Setting{{SettingMaxConcurrentStreams, 100}, {SettingInitialWindowSize, 1 << 20},
		{SettingMaxFrameSize, 1 << 14}, {SettingMaxHeaderListSize, 1 << 16}, {SettingEnablePush, 0}}
	benchPrio      = PriorityParam{StreamDep: 1, Exclusive: true, Weight: 200}
	benchPingData  = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	benchDebug     = []byte("graceful shutdown")
	benchBigBlock  = make([]byte, 3*DefaultMaxFrameSize+100)
	benchDataFrame = AppendData(nil, 1, true, benchPayload)
)

// parseCase is one frame and the header + payload parse of it.
type parseCase struct {
	name  string
	frame []byte
	parse func(b []byte) error
}

var parseCases = []parseCase{
	{"DATA", benchDataFrame, func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkData, err = ParseData(h, b[FrameHeaderLen:])
		return err
	}},
	{"DATA_padded", AppendDataPadded(nil, 1, false, benchPayload, 16), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkData, err = ParseData(h, b[FrameHeaderLen:])
		return err
	}},
	{"HEADERS", AppendHeaders(nil, 1, true, true, benchFragment), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkHeaders, err = ParseHeaders(h, b[FrameHeaderLen:])
		return err
	}},
	{"HEADERS_priority", AppendHeadersPriority(nil, 1, true, true, benchPrio, benchFragment), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkHeaders, err = ParseHeaders(h, b[FrameHeaderLen:])
		return err
	}},
	{"PRIORITY", AppendPriority(nil, 3, benchPrio), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkPriority, err = ParsePriority(h, b[FrameHeaderLen:])
		return err
	}},
	{"RST_STREAM", AppendRSTStream(nil, 3, ErrCodeCancel), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkCode, err = ParseRSTStream(h, b[FrameHeaderLen:])
		return err
	}},
	{"SETTINGS", AppendSettings(nil, benchSettings...), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkSettings, err = ParseSettings(h, b[FrameHeaderLen:])
		for i, n := 0, sinkSettings.Len(); i < n; i++ {
			sinkSetting = sinkSettings.At(i)
		}
		return err
	}},
	{"SETTINGS_ACK", AppendSettingsAck(nil), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkSettings, err = ParseSettings(h, b[FrameHeaderLen:])
		return err
	}},
	{"PUSH_PROMISE", AppendPushPromise(nil, 1, 2, true, benchFragment), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkPush, err = ParsePushPromise(h, b[FrameHeaderLen:])
		return err
	}},
	{"PING", AppendPing(nil, false, benchPingData), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkPing, err = ParsePing(h, b[FrameHeaderLen:])
		return err
	}},
	{"GOAWAY", AppendGoAway(nil, 7, ErrCodeNo, benchDebug), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkGoAway, err = ParseGoAway(h, b[FrameHeaderLen:])
		return err
	}},
	{"WINDOW_UPDATE", AppendWindowUpdate(nil, 1, 65535), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkUint, err = ParseWindowUpdate(h, b[FrameHeaderLen:])
		return err
	}},
	{"CONTINUATION", AppendContinuation(nil, 1, true, benchFragment), func(b []byte) (err error) {
		h := ParseFrameHeader(b)
		sinkBytes, err = ParseContinuation(h, b[FrameHeaderLen:])
		return err
	}},
	{"CheckFrameSize", benchDataFrame, func(b []byte) error {
		return CheckFrameSize(ParseFrameHeader(b), DefaultMaxFrameSize)
	}},
}

// appendCase appends one frame to dst.
type appendCase struct {
	name   string
	append func(dst []byte) []byte
}

var appendCases = []appendCase{
	{"DATA", func(dst []byte) []byte { return AppendData(dst, 1, true, benchPayload) }},
	{"DATA_padded", func(dst []byte) []byte { return AppendDataPadded(dst, 1, false, benchPayload, 16) }},
	{"HEADERS", func(dst []byte) []byte { return AppendHeaders(dst, 1, true, true, benchFragment) }},
	{"HEADERS_priority", func(dst []byte) []byte {
		return AppendHeadersPriority(dst, 1, true, true, benchPrio, benchFragment)
	}},
	{"HeaderBlock_small", func(dst []byte) []byte {
		return AppendHeaderBlock(dst, 1, false, benchFragment, DefaultMaxFrameSize)
	}},
	{"HeaderBlock_split4", func(dst []byte) []byte {
		return AppendHeaderBlock(dst, 1, true, benchBigBlock, DefaultMaxFrameSize)
	}},
	{"PRIORITY", func(dst []byte) []byte { return AppendPriority(dst, 3, benchPrio) }},
	{"RST_STREAM", func(dst []byte) []byte { return AppendRSTStream(dst, 3, ErrCodeCancel) }},
	{"SETTINGS", func(dst []byte) []byte { return AppendSettings(dst, benchSettings...) }},
	{"SETTINGS_literal", func(dst []byte) []byte {
		return AppendSettings(dst, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})
	}},
	{"SETTINGS_ACK", AppendSettingsAck},
	{"PUSH_PROMISE", func(dst []byte) []byte { return AppendPushPromise(dst, 1, 2, true, benchFragment) }},
	{"PING", func(dst []byte) []byte { return AppendPing(dst, true, benchPingData) }},
	{"GOAWAY", func(dst []byte) []byte { return AppendGoAway(dst, 7, ErrCodeNo, benchDebug) }},
	{"WINDOW_UPDATE", func(dst []byte) []byte { return AppendWindowUpdate(dst, 1, 65535) }},
	{"CONTINUATION", func(dst []byte) []byte { return AppendContinuation(dst, 1, true, benchFragment) }},
	{"FrameHeader", func(dst []byte) []byte {
		return AppendFrameHeader(dst, FrameHeader{Length: 4, Type: FrameWindowUpdate, StreamID: 1})
	}},
}

func BenchmarkParse(b *testing.B) {
	for _, c := range parseCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.parse(c.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, c := range appendCases {
		b.Run(c.name, func(b *testing.B) {
			dst := c.append(nil) // size the reused buffer once
			b.ReportAllocs()
			b.SetBytes(int64(len(dst)))
			for b.Loop() {
				dst = c.append(dst[:0])
			}
			sinkBytes = dst
		})
	}
}

// TestParseAllocs proves that parsing each frame type allocates nothing.
func TestParseAllocs(t *testing.T) {
	for _, c := range parseCases {
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			if e := c.parse(c.frame); e != nil {
				err = e
			}
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if allocs != 0 {
			t.Errorf("parsing %s: %v allocs/op, want 0", c.name, allocs)
		}
	}
}

// TestAppendAllocs proves that appending each frame type into a buffer with
// enough capacity allocates nothing.
func TestAppendAllocs(t *testing.T) {
	for _, c := range appendCases {
		dst := c.append(nil)
		want := string(dst)
		allocs := testing.AllocsPerRun(100, func() {
			dst = c.append(dst[:0])
		})
		if allocs != 0 {
			t.Errorf("appending %s: %v allocs/op, want 0", c.name, allocs)
		}
		if string(dst) != want {
			t.Errorf("appending %s into a reused buffer changed the output", c.name)
		}
	}
}

// TestDispatchAllocs proves that the test dispatcher used by the fuzz target
// allocates nothing either, over one frame of every type.
func TestDispatchAllocs(t *testing.T) {
	var stream []byte
	for _, c := range parseCases {
		stream = append(stream, c.frame...)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for b := stream; len(b) >= FrameHeaderLen; {
			h := ParseFrameHeader(b)
			end := FrameHeaderLen + int(h.Length)
			if _, err := parseFrame(h, b[FrameHeaderLen:end], DefaultMaxFrameSize); err != nil {
				t.Fatal(err)
			}
			b = b[end:]
		}
	})
	if allocs != 0 {
		t.Errorf("dispatching %d frames: %v allocs/op, want 0", len(parseCases), allocs)
	}
}
