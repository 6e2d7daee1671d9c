package client

import (
	"bytes"
	"errors"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// Frame-level tests of the limits of H2Config: exact thresholds, the
// GOAWAY sent, and what resets the counts.

// limitConn returns a started connection with one stream (id 1, token 0)
// open and the output drained.
func limitConn(t *testing.T, cfg H2Config, body []byte) (*H2Conn, *recHandler) {
	t.Helper()
	h := &recHandler{}
	c := NewH2Conn(cfg, testSet(body), h)
	c.Start()
	if err := c.Submit(0, 0); err != nil {
		t.Fatal(err)
	}
	c.Wrote(len(c.Output()))
	return c, h
}

// wantConnErr checks that err is want and that the output ends with its
// GOAWAY.
func wantConnErr(t *testing.T, c *H2Conn, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var ce *codec.ConnError
	errors.As(err, &ce)
	if !bytes.HasSuffix(c.Output(), codec.AppendGoAway(nil, 0, ce.Code, nil)) {
		t.Fatalf("no GOAWAY(%v) at the end of the output", ce.Code)
	}
}

func TestH2HeaderBlockLimits(t *testing.T) {
	cfg := DefaultH2Config()
	cfg.MaxContinuations = 3
	cfg.MaxHeaderBlockSize = 8
	// HEADERS and exactly MaxContinuations CONTINUATION frames, exactly
	// MaxHeaderBlockSize octets: accepted (":status 200" and 7 indexed
	// "accept-ranges"... any indexed fields will do)
	c, h := limitConn(t, cfg, nil)
	in := codec.AppendHeaders(nil, 1, true, false, []byte{0x88, 0x82})
	in = codec.AppendContinuation(in, 1, false, []byte{0x82, 0x82})
	in = codec.AppendContinuation(in, 1, false, nil)
	in = codec.AppendContinuation(in, 1, true, []byte{0x82, 0x82, 0x82, 0x82})
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	if len(h.ev) != 2 || h.ev[0].status != 200 || h.ev[1].res != ResultOK {
		t.Fatalf("events %+v", h.ev)
	}
	// one CONTINUATION more, even empty
	c, _ = limitConn(t, cfg, nil)
	in = codec.AppendHeaders(nil, 1, true, false, []byte{0x88})
	for i := 0; i < 4; i++ {
		in = codec.AppendContinuation(in, 1, false, nil)
	}
	_, err := c.Feed(in)
	wantConnErr(t, c, err, ErrTooManyContinuations)
	// one octet more, across frames
	c, _ = limitConn(t, cfg, nil)
	in = codec.AppendHeaders(nil, 1, true, false, []byte{0x88, 0x82, 0x82, 0x82})
	in = codec.AppendContinuation(in, 1, false, []byte{0x82, 0x82, 0x82, 0x82, 0x82})
	_, err = c.Feed(in)
	wantConnErr(t, c, err, ErrHeaderBlockTooLarge)
	// or in one HEADERS frame
	c, _ = limitConn(t, cfg, nil)
	_, err = c.Feed(codec.AppendHeaders(nil, 1, true, true, bytes.Repeat([]byte{0x82}, 9)))
	wantConnErr(t, c, err, ErrHeaderBlockTooLarge)
}

func TestH2ControlQueueLimit(t *testing.T) {
	cfg := DefaultH2Config()
	cfg.MaxQueuedControl = 3
	ping := codec.AppendPing(nil, false, [8]byte{7})
	c, _ := limitConn(t, cfg, nil)
	in := bytes.Repeat(ping, 2)
	in = append(in, codec.AppendSettings(nil)...)
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	// the three acknowledgements are written, but for the last octet:
	// still queued
	c.Wrote(len(c.Output()) - 1)
	_, err := c.Feed(ping)
	wantConnErr(t, c, err, ErrControlFlood)

	// written out, the count starts again
	c, _ = limitConn(t, cfg, nil)
	for i := 0; i < 10; i++ {
		if _, err := c.Feed(bytes.Repeat(ping, 3)); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		out := c.Output()
		if want := bytes.Repeat(codec.AppendPing(nil, true, [8]byte{7}), 3); !bytes.Equal(out, want) {
			t.Fatalf("output %x", out)
		}
		c.Wrote(len(out) - 20) // the first two
		c.Wrote(20)            // and the third: every acknowledgement is out
	}
}

func TestH2NoProgressLimit(t *testing.T) {
	cfg := DefaultH2Config()
	cfg.MaxFramesWithoutProgress = 4
	cfg.MaxConcurrentStreams = 2
	ping := codec.AppendPing(nil, false, [8]byte{})
	c, h := limitConn(t, cfg, nil)
	c.Submit(0, 1) // stream 3
	c.Wrote(len(c.Output()))
	// 4 unproductive frames of different kinds pass, counted in a row
	in := append([]byte(nil), ping...)
	in = codec.AppendPriority(in, 1, codec.PriorityParam{StreamDep: 0, Weight: 15})
	in = codec.AppendHeaders(in, 1, false, true, []byte{0x08, 0x03, '1', '0', '3'}) // 103
	in = codec.AppendFrameHeader(in, codec.FrameHeader{Type: 0x20})                 // unknown type
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	// progress (the final response on stream 1, its content, its end)
	// starts the count again
	in = codec.AppendHeaders(nil, 1, false, true, []byte{0x88})
	in = codec.AppendData(in, 1, true, []byte("x"))
	in = append(in, bytes.Repeat(ping, 3)...)
	in = codec.AppendWindowUpdate(in, 0, 1) // no body being sent: counted
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	if len(h.ev) != 2 || h.ev[1].res != ResultOK {
		t.Fatalf("events %+v", h.ev)
	}
	// a response on stream 3, then 4 empty DATA frames
	in = codec.AppendHeaders(nil, 3, false, true, []byte{0x88})
	for i := 0; i < 4; i++ {
		in = codec.AppendData(in, 3, false, nil)
	}
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	// the fifth in a row: HEADERS on the closed stream 1
	_, err := c.Feed(codec.AppendHeaders(nil, 1, true, true, []byte{0x88}))
	wantConnErr(t, c, err, ErrNoProgress)

	// WINDOW_UPDATE while a body is being sent is never counted
	c, _ = limitConn(t, cfg, bytes.Repeat([]byte("a"), 100))
	for i := 0; i < 20; i++ {
		if _, err := c.Feed(codec.AppendWindowUpdate(nil, uint32(i%2), 1)); err != nil {
			t.Fatalf("WINDOW_UPDATE %d: %v", i, err)
		}
	}
}

// TestH2GoAwayLastOnlyDecreases: a second GOAWAY cannot raise the last
// stream id (RFC 9113 §6.8: "Endpoints MUST NOT increase the value they
// send in the last stream identifier").
func TestH2GoAwayLastOnlyDecreases(t *testing.T) {
	cfg := DefaultH2Config()
	cfg.MaxConcurrentStreams = 3
	c, h := limitConn(t, cfg, nil)
	c.Submit(0, 1)
	c.Submit(0, 2)
	in := codec.AppendGoAway(nil, codec.MaxStreamID, codec.ErrCodeNo, nil) // nothing refused
	in = codec.AppendGoAway(in, 1, codec.ErrCodeNo, nil)                   // 3 and 5 refused
	in = codec.AppendGoAway(in, codec.MaxStreamID, codec.ErrCodeNo, nil)   // no effect
	if _, err := c.Feed(in); err != nil {
		t.Fatal(err)
	}
	if len(h.ev) != 2 || h.ev[0].res != ResultRefused || h.ev[1].res != ResultRefused || c.goAwayLast != 1 || c.Active() != 1 {
		t.Fatalf("events %+v, last stream id %d, active %d", h.ev, c.goAwayLast, c.Active())
	}
}
