package engine

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// pushConn is a handshaken connection with push enabled and one GET on
// stream 1 dispatched; it returns the request.
func pushConn(t *testing.T, cfg Config, settings ...codec.Setting) (*tconn, *Request) {
	cfg.EnablePush = true
	tc := newTConn(t, cfg)
	tc.feed([]byte(codec.ClientPreface))
	tc.feed(codec.AppendSettings(nil, settings...))
	for len(tc.c.Output()) > 0 {
		tc.next()
	}
	tc.feed(codec.AppendSettingsAck(nil))
	tc.feed(tc.get(1, "/page"))
	if len(tc.cb.reqs) != 1 {
		t.Fatalf("%d requests", len(tc.cb.reqs))
	}
	r := tc.cb.reqs[0]
	tc.cb.reqs = nil
	return tc, r
}

// promise reads a PUSH_PROMISE and decodes its block.
func (tc *tconn) promise(id uint32) (promised uint32, fields string) {
	tc.t.Helper()
	f := tc.next()
	if f.Type != codec.FramePushPromise || f.StreamID != id {
		tc.t.Fatalf("got %v on %d, want PUSH_PROMISE on %d", f.Type, f.StreamID, id)
	}
	pp, err := codec.ParsePushPromise(f.FrameHeader, f.p)
	if err != nil || !pp.EndHeaders {
		tc.t.Fatalf("PUSH_PROMISE: %v, END_HEADERS %v", err, pp.EndHeaders)
	}
	tc.fields = tc.fields[:0]
	if _, err := tc.dec.Write(pp.Fragment); err != nil {
		tc.t.Fatal(err)
	}
	return pp.PromisedStreamID, fieldsOf(tc.fields)
}

func TestPush(t *testing.T) {
	tc, r := pushConn(t, Config{})
	if !tc.c.PushAllowed() {
		t.Fatal("PushAllowed false")
	}
	if err := tc.c.Push(r, "GET", "", "/style.css", []string{"accept", "text/css"}); err != nil {
		t.Fatal(err)
	}
	id, fs := tc.promise(1)
	if id != 2 || fs != ":method=GET;:scheme=http;:authority=example.com;:path=/style.css;accept=text/css;" {
		t.Fatalf("promised %d: %q", id, fs)
	}
	// The promised request is dispatched like a client's.
	if len(tc.cb.reqs) != 1 {
		t.Fatalf("%d requests dispatched", len(tc.cb.reqs))
	}
	pr := tc.cb.reqs[0]
	if !pr.Pushed || pr.StreamID != 2 || pr.Header.Path != "/style.css" || pr.Header.Method != "GET" || !pr.BodyComplete() {
		t.Fatalf("pushed request %+v", pr.Header)
	}
	if st := tc.c.streams.Get(2); st == nil || st.state != stReservedLocal {
		t.Fatalf("promised stream %+v", st)
	}
	// A second promise takes the next even id.
	if err := tc.c.Push(r, "HEAD", "", "/app.js", nil); err != nil {
		t.Fatal(err)
	}
	if id, _ := tc.promise(1); id != 4 {
		t.Fatalf("second promise on %d", id)
	}
	// The parent's response, then the pushed ones.
	r.RespBody = append(r.RespBody, "page"...)
	tc.c.Respond(r)
	tc.response(1)
	if b := tc.body(1); string(b) != "page" {
		t.Fatalf("parent body %q", b)
	}
	tc.cb.reqs = tc.cb.reqs[1:]
	pr.RespBody = append(pr.RespBody, "css"...)
	tc.c.Respond(pr)
	if s, _, _ := tc.response(2); s != "200" {
		t.Fatal(s)
	}
	if b := tc.body(2); string(b) != "css" {
		t.Fatalf("pushed body %q", b)
	}
	if st := tc.c.streams.Get(2); st != nil {
		t.Fatal("pushed stream still open")
	}
	// The client cancels the HEAD push: the pushed request is canceled, and
	// the reset is not counted as an abusive one.
	head := tc.cb.reqs[0]
	tc.feed(codec.AppendRSTStream(nil, 4, codec.ErrCodeCancel))
	if !head.Canceled || tc.c.resets != 0 {
		t.Fatalf("canceled %v resets %d", head.Canceled, tc.c.resets)
	}
	tc.c.Respond(head)
	tc.noFrames()
	if tc.c.rare.pushActive != 0 {
		t.Fatalf("pushActive %d", tc.c.rare.pushActive)
	}
	// Frames on closed pushed streams: WINDOW_UPDATE ignored, RST_STREAM
	// ignored; on a push stream never promised: PROTOCOL_ERROR (§5.1 idle).
	tc.feed(codec.AppendWindowUpdate(nil, 2, 100))
	tc.feed(codec.AppendRSTStream(nil, 4, codec.ErrCodeCancel))
	tc.noFrames()
	tc.c.Feed(codec.AppendRSTStream(nil, 6, codec.ErrCodeCancel))
	tc.wantGoAway(codec.ErrCodeProtocol)
}

func TestPushRefused(t *testing.T) {
	// Not enabled on the server.
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	if err := tc.c.Push(tc.cb.reqs[0], "GET", "", "/x", nil); err != ErrPushDisabled || tc.c.PushAllowed() {
		t.Fatalf("push without EnablePush: %v", err)
	}
	// "PUSH_PROMISE MUST NOT be sent if the SETTINGS_ENABLE_PUSH setting of
	// the peer endpoint is set to 0" (§6.6).
	tc, r := pushConn(t, Config{}, codec.Setting{ID: codec.SettingEnablePush, Value: 0})
	if err := tc.c.Push(r, "GET", "", "/x", nil); err != ErrPushDisabled || tc.c.PushAllowed() {
		t.Fatalf("push with ENABLE_PUSH 0: %v", err)
	}
	tc.noFrames()

	tc, r = pushConn(t, Config{Origins: []string{"https://static.example.com"}})
	for _, c := range []struct {
		method, authority, path string
		fields                  []string
		want                    error
	}{
		// "Promised requests MUST be safe ... MUST be cacheable ... MUST
		// NOT include a request body" (§8.4)
		{"POST", "", "/x", nil, ErrPushRequest},
		{"PUT", "", "/x", nil, ErrPushRequest},
		{"GET", "", "x", nil, ErrPushRequest},
		{"GET", "", "", nil, ErrPushRequest},
		{"GET", "", "/a b", nil, ErrPushRequest},
		{"GET", "", "/x", []string{"connection", "close"}, ErrPushRequest},
		{"GET", "", "/x", []string{"Upper", "x"}, ErrPushRequest},
		{"GET", "", "/x", []string{":path", "/y"}, ErrPushRequest},
		{"GET", "", "/x", []string{"odd"}, ErrPushRequest},
		// "The server MUST include a value in the :authority pseudo-header
		// field for which the server is authoritative" (§8.4.1)
		{"GET", "evil.example", "/x", nil, ErrPushAuthority},
		{"GET", "static.example.com", "/x", nil, ErrPushAuthority}, // http, not https
	} {
		if err := tc.c.Push(r, c.method, c.authority, c.path, c.fields); err != c.want {
			t.Errorf("Push(%s %s %s %q) = %v, want %v", c.method, c.authority, c.path, c.fields, err, c.want)
		}
	}
	tc.noFrames()
	if err := tc.c.Push(r, "GET", "EXAMPLE.com", "/x", nil); err != nil {
		t.Fatalf("the request's own authority, other case: %v", err)
	}
	tc.promise(1)
	// "PUSH_PROMISE frames MUST only be sent on a peer-initiated stream"
	// (§6.6): not from a pushed request.
	pr := tc.cb.reqs[0]
	if err := tc.c.Push(pr, "GET", "", "/y", nil); err != ErrPushStream {
		t.Fatalf("push from a pushed stream: %v", err)
	}
	// ... "that is in either the "open" or "half-closed (remote)" state".
	r.RespBody = append(r.RespBody, "x"...)
	tc.c.Respond(r)
	tc.response(1)
	tc.body(1)
	if err := tc.c.Push(r, "GET", "", "/y", nil); err != ErrPushStream {
		t.Fatalf("push after the response: %v", err)
	}
}

// TestPushConcurrencyLimit: pushed streams stay within the client's
// SETTINGS_MAX_CONCURRENT_STREAMS.
func TestPushConcurrencyLimit(t *testing.T) {
	tc, r := pushConn(t, Config{}, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 2})
	for i := 0; i < 2; i++ {
		if err := tc.c.Push(r, "GET", "", "/x", nil); err != nil {
			t.Fatal(err)
		}
		tc.promise(1)
	}
	if err := tc.c.Push(r, "GET", "", "/x", nil); err != ErrPushLimit {
		t.Fatalf("third push: %v", err)
	}
	first := tc.cb.reqs[0]
	first.RespBody = append(first.RespBody, "x"...)
	tc.c.Respond(first)
	tc.response(2)
	tc.body(2)
	if err := tc.c.Push(r, "GET", "", "/x", nil); err != nil {
		t.Fatalf("push after one ended: %v", err)
	}
	if id, _ := tc.promise(1); id != 6 {
		t.Fatalf("promised %d", id)
	}
}

// TestPushFlowControl: a pushed response is held to the client's stream
// window like any other.
func TestPushFlowControl(t *testing.T) {
	tc, r := pushConn(t, Config{}, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 10})
	if err := tc.c.Push(r, "GET", "", "/big", nil); err != nil {
		t.Fatal(err)
	}
	tc.promise(1)
	pr := tc.cb.reqs[0]
	pr.RespBody = append(pr.RespBody, "0123456789abcdef"...)
	tc.c.Respond(pr)
	tc.response(2)
	f := tc.next()
	if f.Type != codec.FrameData || f.StreamID != 2 || string(f.p) != "0123456789" || f.Flags.Has(codec.FlagEndStream) {
		t.Fatalf("%v on %d: %q", f.Type, f.StreamID, f.p)
	}
	tc.noFrames()
	tc.feed(codec.AppendWindowUpdate(nil, 2, 6))
	if b := tc.body(2); string(b) != "abcdef" {
		t.Fatalf("rest %q", b)
	}
}

// TestPushedStreamViolations: the client may send only RST_STREAM,
// PRIORITY and WINDOW_UPDATE on a stream reserved (local) (§5.1); once
// the pushed response started it is half-closed (remote).
func TestPushedStreamViolations(t *testing.T) {
	tc, r := pushConn(t, Config{})
	tc.c.Push(r, "GET", "", "/x", nil)
	tc.promise(1)
	tc.feed(codec.AppendWindowUpdate(nil, 2, 100))
	tc.feed(codec.AppendPriority(nil, 2, codec.PriorityParam{StreamDep: 1, Weight: 3}))
	tc.feed(codec.AppendPriorityUpdate(nil, 2, "u=1"))
	tc.noFrames()
	if st := tc.c.streams.Get(2); st.prio.Urgency != 1 {
		t.Fatalf("PRIORITY_UPDATE for the push stream: %+v", st.prio)
	}
	// "Receiving any type of frame other than RST_STREAM, PRIORITY, or
	// WINDOW_UPDATE on a stream in this state MUST be treated as a
	// connection error of type PROTOCOL_ERROR."
	tc.c.Feed(codec.AppendData(nil, 2, false, []byte("x")))
	tc.wantGoAway(codec.ErrCodeProtocol)

	tc, r = pushConn(t, Config{})
	tc.c.Push(r, "GET", "", "/x", nil)
	tc.promise(1)
	pr := tc.cb.reqs[0]
	tc.c.SendHeaders(pr)
	tc.response(2)
	// half-closed (remote): "it MUST respond with a stream error of type
	// STREAM_CLOSED"
	tc.feed(codec.AppendData(nil, 2, false, []byte("x")))
	tc.wantRST(2, codec.ErrCodeStreamClosed)
	// HEADERS on an even stream from a client: PROTOCOL_ERROR (§5.1.1).
	tc.c.Feed(codec.AppendHeaders(nil, 4, true, true, tc.headerBlock(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "example.com")))
	tc.wantGoAway(codec.ErrCodeProtocol)
}

// TestPushFromArena: a request whose :authority and :path the client sent
// as literals without indexing has them in its own memory; a push that
// takes them (the default authority, the request's path, a field value)
// promises a request of its own copies, which outlives the parent's.
func TestPushFromArena(t *testing.T) {
	tc := newTConn(t, Config{EnablePush: true})
	tc.handshake()
	block := []byte{0x82, 0x86, 0x04, 6, '/', 'p', 'a', 'g', 'e', '2', 0x01, 11}
	block = append(block, "example.org"...)
	tc.feed(codec.AppendHeaders(nil, 1, true, true, block))
	r := tc.cb.reqs[0]
	tc.cb.reqs = nil
	if !r.Header.InArena(r.Header.Path) || !r.Header.InArena(r.Header.Authority) {
		t.Fatal("the literals are not in the request's arena")
	}
	if err := tc.c.Push(r, "GET", "", r.Header.Path, []string{"x-from", r.Header.Path}); err != nil {
		t.Fatal(err)
	}
	if _, fs := tc.promise(1); fs != ":method=GET;:scheme=http;:authority=example.org;:path=/page2;x-from=/page2;" {
		t.Fatalf("promised %q", fs)
	}
	pr := tc.cb.reqs[0]
	h := &pr.Header
	for _, s := range []string{h.Authority, h.Path, h.Fields[0].Value} {
		if r.Header.InArena(s) {
			t.Fatalf("the promised request holds %q of its parent's memory", s)
		}
	}
	if h.Authority != "example.org" || h.Path != "/page2" || h.Fields[0].Value != "/page2" {
		t.Fatalf("promised request %+v", h)
	}
}
