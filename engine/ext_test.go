package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

func TestConnAltSvc(t *testing.T) {
	tc := newTConn(t, Config{AltSvc: `h2="alt.example.com:443"; ma=60`})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	f := tc.next()
	if f.Type != codec.FrameAltSvc || f.StreamID != 0 || f.Flags != 0 {
		t.Fatalf("got %v on %d, want ALTSVC on stream 0", f.Type, f.StreamID)
	}
	a, err := codec.ParseAltSvc(f.FrameHeader, f.p)
	if err != nil || string(a.Origin) != "http://example.com" || string(a.Value) != `h2="alt.example.com:443"; ma=60` {
		t.Fatalf("ALTSVC %q %q %v", a.Origin, a.Value, err)
	}
	tc.serveAll("x")
	if status, _, _ := tc.response(1); status != "200" {
		t.Fatal(status)
	}
	tc.body(1)
	// Once per connection.
	tc.feed(tc.get(3, "/"))
	tc.serveAll("x")
	if status, _, _ := tc.response(3); status != "200" {
		t.Fatal(status)
	}
}

func TestStreamAltSvcAndOrigin(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	if !tc.c.AltSvc(r, "clear") {
		t.Fatal("AltSvc refused")
	}
	f := tc.next()
	a, err := codec.ParseAltSvc(f.FrameHeader, f.p)
	if f.Type != codec.FrameAltSvc || f.StreamID != 1 || err != nil || len(a.Origin) != 0 || string(a.Value) != "clear" || !a.Valid() {
		t.Fatalf("%v on %d: %q %q %v", f.Type, f.StreamID, a.Origin, a.Value, err)
	}
	if !tc.c.SendOrigin([]string{"https://a.example", "https://b.example"}) {
		t.Fatal("SendOrigin refused")
	}
	f = tc.next()
	os, err := codec.ParseOrigin(f.FrameHeader, f.p, nil)
	if f.Type != codec.FrameOrigin || f.StreamID != 0 || err != nil || len(os) != 2 || string(os[1]) != "https://b.example" {
		t.Fatalf("%v on %d: %q %v", f.Type, f.StreamID, os, err)
	}
	// Frames larger than the client's SETTINGS_MAX_FRAME_SIZE are refused.
	if tc.c.SendOrigin([]string{strings.Repeat("a", 16383)}) || tc.c.AltSvc(r, strings.Repeat("a", 16383)) {
		t.Fatal("oversized frame accepted")
	}
	tc.serveAll("x")
	tc.response(1)
	tc.body(1)
	if tc.c.AltSvc(r, "clear") {
		t.Fatal("AltSvc on a closed stream")
	}
	tc.noFrames()
}

func TestStartTLSOrigin(t *testing.T) {
	cfg := Config{Origins: []string{"https://example.com", "https://www.example.com"}}
	cfg.Normalize()
	c := NewConn(&cfg, &fakeCB{}, nil, time.Unix(1000, 0))
	c.StartTLS()
	out := c.Output()
	var types []codec.FrameType
	for len(out) > 0 {
		h := codec.ParseFrameHeader(out)
		types = append(types, h.Type)
		if h.Type == codec.FrameOrigin {
			os, err := codec.ParseOrigin(h, out[9:9+h.Length], nil)
			if err != nil || len(os) != 2 || string(os[0]) != "https://example.com" || h.StreamID != 0 {
				t.Fatalf("ORIGIN %q %v", os, err)
			}
		}
		out = out[9+h.Length:]
	}
	if len(types) != 3 || types[0] != codec.FrameSettings || types[2] != codec.FrameOrigin {
		t.Fatalf("preface frames %v", types)
	}
	// Cleartext connections send none.
	c = NewConn(&cfg, &fakeCB{}, nil, time.Unix(1000, 0))
	for out := c.Output(); len(out) > 0; {
		h := codec.ParseFrameHeader(out)
		if h.Type == codec.FrameOrigin {
			t.Fatal("ORIGIN on a cleartext connection")
		}
		out = out[9+h.Length:]
	}
}

// TestReceivedAltSvcOriginIgnored: "A device acting as a server MUST ignore
// it" (RFC 7838 §4); ORIGIN is for clients (RFC 8336 §2.1).
func TestReceivedAltSvcOriginIgnored(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(codec.AppendAltSvc(nil, 0, "http://example.com", "clear"))
	tc.feed(codec.AppendAltSvc(nil, 1, "", "clear"))
	tc.feed(codec.AppendOrigin(nil, "https://example.com"))
	tc.feed([]byte{0, 0, 1, byte(codec.FrameOrigin), 0, 0, 0, 0, 0, 7}) // malformed: ignored all the same
	tc.noFrames()
	tc.feed(tc.get(1, "/"))
	tc.serveAll("ok")
	if status, _, _ := tc.response(1); status != "200" || tc.c.Closed() {
		t.Fatal(status)
	}
}
