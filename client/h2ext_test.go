package client

import (
	"errors"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

type extHandler struct {
	recHandler
	altsvc  []string
	origins [][]string
}

func (h *extHandler) AltSvc(id uint32, origin, value []byte) {
	h.altsvc = append(h.altsvc, string(rune('0'+id))+" "+string(origin)+" "+string(value))
}

func (h *extHandler) Origin(os [][]byte) {
	var ss []string
	for _, o := range os {
		ss = append(ss, string(o))
	}
	h.origins = append(h.origins, ss)
}

func TestH2AltSvcOrigin(t *testing.T) {
	h := &extHandler{}
	c := NewH2Conn(DefaultH2Config(), testSet(nil), h)
	c.Start()
	c.Wrote(len(c.Output()))
	if err := c.Submit(0, 1); err != nil {
		t.Fatal(err)
	}
	c.Wrote(len(c.Output()))
	in := codec.AppendSettings(nil)
	in = codec.AppendOrigin(in, "https://a.example", "https://b.example")
	in = codec.AppendAltSvc(in, 0, "https://a.example", `h2=":8443"`)
	in = codec.AppendAltSvc(in, 1, "", "clear")
	// invalid ones, ignored: origin on a stream, none on stream 0, ORIGIN
	// on a stream, a malformed ORIGIN, a malformed ALTSVC
	in = codec.AppendAltSvc(in, 1, "https://x", "clear")
	in = codec.AppendAltSvc(in, 0, "", "clear")
	in = append(in, codec.AppendOrigin(nil, "https://x")...)
	in[len(in)-len("https://x")-2-9+8] = 1 // the ORIGIN above, moved to stream 1
	in = append(in, 0, 0, 1, byte(codec.FrameOrigin), 0, 0, 0, 0, 0, 9)
	in = append(in, 0, 0, 1, byte(codec.FrameAltSvc), 0, 0, 0, 0, 0, 9)
	in = response(in, 1, "Sun, 22 Nov 2026 08:00:00 GMT")
	if n, err := c.Feed(in); err != nil || n != len(in) {
		t.Fatalf("Feed = %d, %v", n, err)
	}
	if len(h.origins) != 1 || len(h.origins[0]) != 2 || h.origins[0][1] != "https://b.example" {
		t.Fatalf("origins %q", h.origins)
	}
	if len(h.altsvc) != 2 || h.altsvc[0] != `0 https://a.example h2=":8443"` || h.altsvc[1] != "1  clear" {
		t.Fatalf("altsvc %q", h.altsvc)
	}
	if len(h.ev) != 2 || h.ev[1].res != ResultOK {
		t.Fatalf("events %+v", h.ev)
	}
	// "If a client receives a PRIORITY_UPDATE frame, it MUST respond with
	// a connection error of type PROTOCOL_ERROR" (RFC 9218 §7.1).
	_, err := c.Feed(codec.AppendPriorityUpdate(nil, 1, "u=0"))
	var ce *codec.ConnError
	if !errors.As(err, &ce) || ce.Code != codec.ErrCodeProtocol {
		t.Fatalf("PRIORITY_UPDATE: %v", err)
	}
}
