package codec

import (
	"bytes"
	"testing"
)

func TestParsePriorityField(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Priority
	}{
		{"", DefaultPriority},
		{"u=0", Priority{0, false}},
		{"u=7, i", Priority{7, true}},
		{"i", Priority{3, true}},
		{"i=?0", Priority{3, false}},
		{"i=?1,u=1", Priority{1, true}},
		{"u=8", DefaultPriority},                 // out of range: ignored
		{"u=-1", DefaultPriority},                // not in range
		{"u=1.5", DefaultPriority},               // a decimal, not an integer
		{"u=\"1\"", DefaultPriority},             // a string
		{"i=1", DefaultPriority},                 // not a boolean
		{"x=\"a,u=0\", u=5", Priority{5, false}}, // a comma inside a string
		{"u=2;foo=bar, i;x", Priority{2, true}},  // parameters skipped
		{"foo, u=6, bar=?1", Priority{6, false}},
		{"U=1", DefaultPriority}, // keys are lower case
		{"u=1, ???", Priority{1, false}},
	} {
		if got := ParsePriorityField(DefaultPriority, c.in); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
		if got := ParsePriorityField(DefaultPriority, []byte(c.in)); got != c.want {
			t.Errorf("%q ([]byte): %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, p := range []Priority{{0, false}, {3, false}, {3, true}, {7, true}, {1, false}} {
		if got := ParsePriorityField(DefaultPriority, AppendPriorityField(nil, p)); got != p {
			t.Errorf("round trip %+v: %+v", p, got)
		}
	}
	allocs := testing.AllocsPerRun(100, func() { ParsePriorityField(DefaultPriority, "u=1, i") })
	if allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func TestAltSvcOriginPriorityUpdateFrames(t *testing.T) {
	b := AppendAltSvc(nil, 0, "https://example.com", `h2="alt.example.com:443"; ma=60`)
	h := ParseFrameHeader(b)
	if h.Type != FrameAltSvc || h.StreamID != 0 || h.Flags != 0 {
		t.Fatalf("header %+v", h)
	}
	f, err := ParseAltSvc(h, b[FrameHeaderLen:])
	if err != nil || string(f.Origin) != "https://example.com" || string(f.Value) != `h2="alt.example.com:443"; ma=60` || !f.Valid() {
		t.Fatalf("%+v %v", f, err)
	}
	// RFC 7838 §4: invalid (ignored) when the origin is present on a
	// request stream or absent on stream 0.
	for _, c := range []struct {
		id     uint32
		origin string
		valid  bool
	}{{0, "", false}, {1, "https://a", false}, {1, "", true}, {0, "https://a", true}} {
		b := AppendAltSvc(nil, c.id, c.origin, "clear")
		f, err := ParseAltSvc(ParseFrameHeader(b), b[FrameHeaderLen:])
		if err != nil || f.Valid() != c.valid {
			t.Fatalf("stream %d origin %q: valid %v err %v", c.id, c.origin, f.Valid(), err)
		}
	}
	for _, p := range [][]byte{{}, {0}, {0, 5, 'a'}} {
		if _, err := ParseAltSvc(FrameHeader{Type: FrameAltSvc}, p); err != ErrAltSvcLength {
			t.Fatalf("%x: %v", p, err)
		}
	}

	b = AppendOrigin(nil, "https://a.example", "https://b.example")
	h = ParseFrameHeader(b)
	os, err := ParseOrigin(h, b[FrameHeaderLen:], nil)
	if err != nil || len(os) != 2 || string(os[0]) != "https://a.example" || string(os[1]) != "https://b.example" {
		t.Fatalf("%q %v", os, err)
	}
	if os, err := ParseOrigin(FrameHeader{StreamID: 1}, b[FrameHeaderLen:], nil); err != nil || len(os) != 0 {
		t.Fatalf("ORIGIN on stream 1: %q %v, want ignored", os, err)
	}
	for _, p := range [][]byte{{0}, {0, 3, 'a'}, {0, 0, 0}} {
		if _, err := ParseOrigin(FrameHeader{}, p, nil); err != ErrOriginLength {
			t.Fatalf("%x: %v", p, err)
		}
	}

	b = AppendPriorityUpdate(nil, 5, "u=0")
	h = ParseFrameHeader(b)
	pu, err := ParsePriorityUpdate(h, b[FrameHeaderLen:])
	if err != nil || pu.StreamID != 5 || string(pu.Value) != "u=0" || h.Type != FramePriorityUpdate {
		t.Fatalf("%+v %v", pu, err)
	}
	if !bytes.Equal(b[FrameHeaderLen:FrameHeaderLen+4], []byte{0, 0, 0, 5}) {
		t.Fatalf("payload %x", b)
	}
	if _, err := ParsePriorityUpdate(FrameHeader{StreamID: 1}, b[FrameHeaderLen:]); err != ErrPriorityUpdateStream {
		t.Fatal(err)
	}
	if _, err := ParsePriorityUpdate(FrameHeader{}, []byte{0, 0, 0}); err != ErrPriorityUpdateLength {
		t.Fatal(err)
	}
	if _, err := ParsePriorityUpdate(FrameHeader{}, []byte{0x80, 0, 0, 0, 'u'}); err != ErrPriorityUpdateZero {
		t.Fatal(err) // the reserved bit is not part of the id
	}
	if err := (Setting{SettingNoRFC7540Priorities, 2}).Valid(); err != ErrSettingNoRFC7540 {
		t.Fatal(err)
	}
}

func FuzzExtFrames(f *testing.F) {
	f.Add(uint8(FrameAltSvc), uint32(0), AppendAltSvc(nil, 0, "https://a", "clear")[FrameHeaderLen:])
	f.Add(uint8(FrameOrigin), uint32(0), AppendOrigin(nil, "https://a", "https://b")[FrameHeaderLen:])
	f.Add(uint8(FramePriorityUpdate), uint32(0), AppendPriorityUpdate(nil, 3, "u=1, i")[FrameHeaderLen:])
	f.Add(uint8(FramePriorityUpdate), uint32(0), []byte("\x00\x00\x00\x01x=\"a,\\\"u=0\", u=9;a=?1, i=?1"))
	f.Fuzz(func(t *testing.T, typ uint8, id uint32, p []byte) {
		h := FrameHeader{Length: uint32(len(p)), Type: FrameType(typ), StreamID: id & MaxStreamID}
		switch h.Type {
		case FrameAltSvc:
			if a, err := ParseAltSvc(h, p); err == nil {
				b := AppendAltSvc(nil, h.StreamID, string(a.Origin), string(a.Value))
				if !bytes.Equal(b[FrameHeaderLen:], p) {
					t.Fatalf("ALTSVC round trip %x -> %x", p, b)
				}
			}
		case FrameOrigin:
			if os, err := ParseOrigin(h, p, nil); err == nil && h.StreamID == 0 {
				ss := make([]string, len(os))
				for i, o := range os {
					ss[i] = string(o)
				}
				b := AppendOrigin(nil, ss...)
				if !bytes.Equal(b[FrameHeaderLen:], p) {
					t.Fatalf("ORIGIN round trip %x -> %x", p, b)
				}
			}
		default:
			h.Type = FramePriorityUpdate
			if pu, err := ParsePriorityUpdate(h, p); err == nil {
				pr := ParsePriorityField(DefaultPriority, pu.Value)
				if pr.Urgency > 7 {
					t.Fatalf("urgency %d from %q", pr.Urgency, pu.Value)
				}
				if pu.StreamID == 0 || pu.StreamID > MaxStreamID {
					t.Fatalf("stream %d", pu.StreamID)
				}
			}
		}
	})
}
