package h2loop_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// readPushed reads frames until stream 1 and every promised stream ended,
// and returns the promised paths and the bodies by stream.
func readPushed(t *testing.T, rc *rawConn) (promised map[uint32]string, bodies map[uint32]string, status map[uint32]string) {
	t.Helper()
	promised, bodies, status = map[uint32]string{}, map[uint32]string{}, map[uint32]string{}
	ended := map[uint32]bool{}
	for !ended[1] || len(ended) < 1+len(promised) {
		f := rc.mustRead()
		switch f.Type {
		case codec.FramePushPromise:
			pp, err := codec.ParsePushPromise(f.FrameHeader, f.p)
			if err != nil || f.StreamID != 1 {
				t.Fatalf("PUSH_PROMISE on %d: %v", f.StreamID, err)
			}
			rc.fields = rc.fields[:0]
			rc.dec.Write(pp.Fragment)
			for _, hf := range rc.fields {
				if hf.Name == ":path" {
					promised[pp.PromisedStreamID] = hf.Value
				}
			}
		case codec.FrameHeaders:
			status[f.StreamID] = rc.status(f)
			if f.Flags.Has(codec.FlagEndStream) {
				ended[f.StreamID] = true
			}
		case codec.FrameData:
			bodies[f.StreamID] += string(f.p)
			if f.Flags.Has(codec.FlagEndStream) {
				ended[f.StreamID] = true
			}
		case codec.FrameGoAway, codec.FrameRSTStream:
			t.Fatalf("%v on %d", f.Type, f.StreamID)
		}
	}
	return promised, bodies, status
}

func TestPushNative(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.EnablePush = true
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if ctx.IsPushed() {
				ctx.WriteString("pushed " + ctx.Path() + " " + ctx.Header("x-tag"))
				return
			}
			if !ctx.PushAllowed() {
				t.Errorf("PushAllowed false")
			}
			if err := ctx.Push("GET", "/a.css", "x-tag", "t1"); err != nil {
				t.Errorf("Push: %v", err)
			}
			if err := ctx.Push("POST", "/b"); err != h2loop.ErrPushRequest {
				t.Errorf("Push POST: %v", err)
			}
			ctx.WriteString("page")
		})
	})
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/"))
	promised, bodies, status := readPushed(t, rc)
	if len(promised) != 1 || promised[2] != "/a.css" || bodies[1] != "page" || bodies[2] != "pushed /a.css t1" || status[2] != "200" {
		t.Fatalf("promised %v bodies %v status %v", promised, bodies, status)
	}
}

// TestPushWrapHandler: http.Pusher through WrapHandler; a client that
// refuses push (Go's) makes Push return http.ErrNotSupported.
func TestPushWrapHandler(t *testing.T) {
	pushErr := make(chan error, 10)
	base := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			w.Write([]byte("asset " + r.URL.Path + " " + r.Header.Get("X-Tag")))
			return
		}
		p, ok := w.(http.Pusher)
		if !ok {
			pushErr <- errors.New("not an http.Pusher")
			return
		}
		err := p.Push("/app.js", &http.PushOptions{Header: http.Header{"X-Tag": {"js"}}})
		if err == nil {
			err = p.Push("http://"+r.Host+"/logo.png", nil)
		}
		pushErr <- err
		w.Write([]byte("index"))
	}), func(s *h2loop.Server) { s.EnablePush = true })

	rc := dialRaw(t, base[len("http://"):])
	rc.handshake()
	rc.write(rc.get(1, "/"))
	promised, bodies, _ := readPushed(t, rc)
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	if promised[2] != "/app.js" || promised[4] != "/logo.png" || bodies[2] != "asset /app.js js" || bodies[4] != "asset /logo.png " || bodies[1] != "index" {
		t.Fatalf("promised %v bodies %v", promised, bodies)
	}

	// Go's client sends SETTINGS_ENABLE_PUSH = 0.
	resp, err := h2cClient().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "index" {
		t.Fatalf("%q", b)
	}
	select {
	case err := <-pushErr:
		if err != http.ErrNotSupported {
			t.Fatalf("Push to a client without push: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler did not run")
	}
}

// TestPushDisabledByDefault: without Server.EnablePush nothing is pushed.
func TestPushDisabledByDefault(t *testing.T) {
	got := make(chan error, 1)
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			got <- ctx.Push("GET", "/x")
			ctx.WriteString("ok")
		})
	})
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/"))
	promised, bodies, _ := readPushed(t, rc)
	if len(promised) != 0 || bodies[1] != "ok" || <-got != h2loop.ErrPushDisabled {
		t.Fatalf("promised %v bodies %v", promised, bodies)
	}
}
