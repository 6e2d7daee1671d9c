package client

import (
	"bytes"
	"strings"
	"testing"
)

func TestH1Pipelined(t *testing.T) {
	h := &recHandler{}
	c := NewH1Conn(3, testSet(nil), h)
	for i := int32(0); i < 3; i++ {
		if err := c.Submit(0, i); err != nil {
			t.Fatal(err)
		}
	}
	if c.CanSubmit() != 0 || c.Submit(0, 9) != ErrNoStreamSlot {
		t.Fatal("pipelining limit not enforced")
	}
	want := "GET / HTTP/1.1\r\nHost: example.com\r\nuser-agent: h2bench\r\n\r\n"
	if got := string(c.Output()); got != strings.Repeat(want, 3) {
		t.Fatalf("requests %q", got)
	}
	in := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
	// feed in small pieces
	var buf []byte
	for i := 0; i < len(in); i += 7 {
		buf = append(buf, in[i:min(i+7, len(in))]...)
		n, err := c.Feed(buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[n:]
	}
	wantEv := []event{{token: 0, status: 200}, {token: 0, closed: true}, {token: 1, status: 404},
		{token: 1, closed: true}, {token: 2, status: 204}, {token: 2, closed: true}}
	if len(h.ev) != len(wantEv) {
		t.Fatalf("events %+v", h.ev)
	}
	for i := range wantEv {
		if h.ev[i] != wantEv[i] {
			t.Fatalf("event %d: %+v want %+v", i, h.ev[i], wantEv[i])
		}
	}
	if c.BytesBody != 5+5 {
		t.Fatalf("body %d", c.BytesBody)
	}
	if !c.GoingAway() {
		t.Fatal("Connection: close not honoured")
	}
}

func TestH1CloseDelimitedAndRefused(t *testing.T) {
	h := &recHandler{}
	c := NewH1Conn(2, testSet(nil), h)
	c.Submit(0, 1)
	c.Submit(0, 2)
	n, err := c.Feed([]byte("HTTP/1.0 200 OK\r\n\r\nbody..."))
	if err != nil || n != 26 {
		t.Fatalf("Feed %d %v", n, err)
	}
	c.EOF()
	want := []event{{token: 1, status: 200}, {token: 1, closed: true}, {token: 2, closed: true, res: ResultRefused}}
	if len(h.ev) != 3 || h.ev[0] != want[0] || h.ev[1] != want[1] || h.ev[2] != want[2] {
		t.Fatalf("events %+v", h.ev)
	}
	if c.BytesBody != 7 {
		t.Fatalf("body %d", c.BytesBody)
	}
}

func TestH1Malformed(t *testing.T) {
	c := NewH1Conn(1, testSet(nil), &recHandler{})
	c.Submit(0, 1)
	if _, err := c.Feed([]byte("HTTP/2 200\r\n")); err != ErrHTTP1Parse {
		t.Fatalf("err %v", err)
	}
}

func TestH1BodyAndUpgrade(t *testing.T) {
	h := &recHandler{}
	set := testSet([]byte("data"))
	c := NewH1Conn(8, set, h)
	if c.limit != 1 {
		t.Fatalf("pipelining with a body: limit %d, want 1", c.limit)
	}
	h2 := NewH2Conn(DefaultH2Config(), set, h)
	if err := c.SubmitUpgrade(0, 4, h2.SettingsPayload()); err != nil {
		t.Fatal(err)
	}
	out := string(c.Output())
	for _, s := range []string{"POST / HTTP/1.1\r\n", "Content-Length: 4\r\n", "Upgrade: h2c\r\n",
		"Connection: Upgrade, HTTP2-Settings\r\n", "HTTP2-Settings: AAIAAAAAAAQ_____\r\n", "\r\n\r\ndata"} {
		if !strings.Contains(out, s) {
			t.Fatalf("upgrade request lacks %q:\n%s", s, out)
		}
	}
	in := []byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
	rest := response(nil, 1, "d")
	n, err := c.Feed(append(in, rest...))
	if err != nil || n != len(in) || !c.Upgraded {
		t.Fatalf("Feed %d %v upgraded=%v", n, err, c.Upgraded)
	}
	idx, tok := c.UpgradeStream()
	h2.StartUpgraded(idx, tok)
	if !bytes.HasPrefix(h2.Output(), []byte("PRI * HTTP/2.0")) {
		t.Fatal("no preface after upgrade")
	}
	if _, err := h2.Feed(rest); err != nil {
		t.Fatal(err)
	}
	if len(h.ev) != 2 || h.ev[0] != (event{token: 4, status: 200}) || h.ev[1] != (event{token: 4, closed: true}) {
		t.Fatalf("events %+v", h.ev)
	}
	if h2.Submit(0, 5) != nil || parseFrames(t, h2.Output()[len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):])[2].StreamID != 3 {
		t.Fatal("first stream after an upgrade must be 3")
	}
}
