package h2loop_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// TestSendAltSvcOrigin: ctx.SendAltSvc and ctx.SendOrigin put their frames
// on the connection before the response; over HTTP/1.1 they report
// ErrNotHTTP2. Server.AltSvc goes out on stream 0 for the first request's
// origin.
func TestSendAltSvcOrigin(t *testing.T) {
	errs := make(chan error, 4)
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.AltSvc = `h2=":443"`
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			errs <- ctx.SendAltSvc(`h3=":443"; ma=60`)
			errs <- ctx.SendOrigin("https://a.example", "https://b.example")
			ctx.WriteString("ok")
		})
	})
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/"))
	var seen []string
	for {
		f := rc.mustRead()
		switch f.Type {
		case codec.FrameAltSvc:
			a, err := codec.ParseAltSvc(f.FrameHeader, f.p)
			if err != nil || !a.Valid() {
				t.Fatalf("ALTSVC %v", err)
			}
			seen = append(seen, "ALTSVC "+string(rune('0'+f.StreamID))+" "+string(a.Origin)+" "+string(a.Value))
		case codec.FrameOrigin:
			os, err := codec.ParseOrigin(f.FrameHeader, f.p, nil)
			if err != nil || len(os) != 2 {
				t.Fatalf("ORIGIN %q %v", os, err)
			}
			seen = append(seen, "ORIGIN "+string(os[0])+" "+string(os[1]))
		case codec.FrameHeaders:
			seen = append(seen, "HEADERS "+rc.status(f))
		}
		if f.Type == codec.FrameData && f.Flags.Has(codec.FlagEndStream) {
			break
		}
	}
	want := []string{`ALTSVC 0 http://localhost h2=":443"`, `ALTSVC 1  h3=":443"; ma=60`, "ORIGIN https://a.example https://b.example", "HEADERS 200"}
	if len(seen) != len(want) {
		t.Fatalf("frames %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("frames %q, want %q", seen, want)
		}
	}
	if e1, e2 := <-errs, <-errs; e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	// HTTP/1.1: no such frames.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if e1, e2 := <-errs, <-errs; e1 != h2loop.ErrNotHTTP2 || e2 != h2loop.ErrNotHTTP2 {
		t.Fatalf("over HTTP/1.1: %v, %v", e1, e2)
	}
}
