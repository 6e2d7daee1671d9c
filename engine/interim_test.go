package engine

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// fieldsOf returns name=value; for the decoded fields.
func fieldsOf(fs []hpackField) string {
	s := ""
	for _, f := range fs {
		s += f.Name + "=" + f.Value + ";"
	}
	return s
}

func TestInterimEarlyHints(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	tc.cb.reqs = nil
	r.AddHeader("link", "</a.css>; rel=preload; as=style")
	r.AddHeader("content-length", "99") // never in a 1xx (RFC 9110 §8.6)
	if !tc.c.Interim(r, 103, 0) {
		t.Fatal("Interim refused")
	}
	f := tc.next()
	if f.Type != codec.FrameHeaders || f.StreamID != 1 || f.Flags != codec.FlagEndHeaders {
		t.Fatalf("got %v flags %#x on %d, want HEADERS END_HEADERS (no END_STREAM) on 1", f.Type, f.Flags, f.StreamID)
	}
	tc.fields = tc.fields[:0]
	if _, err := tc.dec.Write(f.p); err != nil {
		t.Fatal(err)
	}
	if got := fieldsOf(tc.fields); got != ":status=103;link=</a.css>; rel=preload; as=style;" {
		t.Fatalf("103 fields %q", got)
	}
	// A second hint with fields from an index on: only those go out.
	r.AddHeader("link", "</b.js>; rel=preload; as=script")
	if !tc.c.Interim(r, 103, 2) {
		t.Fatal("second Interim refused")
	}
	_, fs, end := tc.response(1)
	if end || fieldsOf(fs) != ":status=103;link=</b.js>; rel=preload; as=script;" {
		t.Fatalf("second 103: end %v fields %q", end, fieldsOf(fs))
	}
	r.DelHeader("content-length")
	r.RespBody = append(r.RespBody, "ok"...)
	tc.c.Respond(r)
	status, fs, end := tc.response(1)
	if status != "200" || end {
		t.Fatalf("final response %s end %v", status, end)
	}
	if got := fieldsOf(fs); got != ":status=200;link=</a.css>; rel=preload; as=style;link=</b.js>; rel=preload; as=script;content-length=2;" {
		t.Fatalf("final fields %q", got)
	}
	if b := tc.body(1); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	// After the final response no interim response can be sent.
	if tc.c.Interim(r, 103, 0) {
		t.Fatal("Interim after the stream closed")
	}
	tc.noFrames()
}

func TestInterimRefused(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	for _, status := range []int{99, 101, 200, 204, 404} {
		if tc.c.Interim(r, status, 0) {
			t.Fatalf("Interim(%d) accepted", status)
		}
	}
	tc.noFrames()
	// Once the final header section went out (a streaming response),
	// informational responses are over.
	if !tc.c.SendHeaders(r) {
		t.Fatal("SendHeaders")
	}
	if status, _, _ := tc.response(1); status != "200" {
		t.Fatalf("status %s", status)
	}
	if tc.c.Interim(r, 103, 0) {
		t.Fatal("Interim after the final header section")
	}
	tc.noFrames()
}

func TestInterimAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random (the output and HPACK block buffers are pooled); CI also runs this test without -race")
	}
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	r.AddHeader("link", "</a.css>; rel=preload; as=style")
	allocs := testing.AllocsPerRun(100, func() {
		tc.c.Interim(r, 103, 0)
		tc.c.ConsumeOutput(len(tc.c.Output()))
	})
	if allocs != 0 {
		t.Fatalf("Interim: %v allocs, want 0", allocs)
	}
}
