package h2loop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// rawConn is an HTTP/2 client written with codec, frame by frame, so that a
// test sees exactly what the server sends.
type rawConn struct {
	t      *testing.T
	nc     net.Conn
	br     *bufio.Reader
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
	fields []hpack.HeaderField
}

// rawFrame is a frame read from the server, its payload copied.
type rawFrame struct {
	codec.FrameHeader
	p []byte
}

// dialRaw connects and sends the preface and an empty SETTINGS frame.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{t: t, nc: nc, br: bufio.NewReaderSize(nc, 64<<10)}
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	rc.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { rc.fields = append(rc.fields, f) })
	rc.write(append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...))
	return rc
}

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	rc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// read returns the next frame, or an error (io.EOF when the server closed).
func (rc *rawConn) read(timeout time.Duration) (rawFrame, error) {
	rc.nc.SetReadDeadline(time.Now().Add(timeout))
	var hdr [codec.FrameHeaderLen]byte
	if _, err := io.ReadFull(rc.br, hdr[:]); err != nil {
		return rawFrame{}, err
	}
	h := codec.ParseFrameHeader(hdr[:])
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(rc.br, p); err != nil {
		return rawFrame{}, err
	}
	return rawFrame{h, p}, nil
}

func (rc *rawConn) mustRead() rawFrame {
	rc.t.Helper()
	f, err := rc.read(10 * time.Second)
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return f
}

// handshake finishes the connection start: the server's SETTINGS is read and
// acknowledged, and its ACK of ours awaited.
func (rc *rawConn) handshake() {
	rc.t.Helper()
	gotSettings, gotAck := false, false
	for !gotSettings || !gotAck {
		f := rc.mustRead()
		if f.Type != codec.FrameSettings {
			continue
		}
		if f.Flags.Has(codec.FlagAck) {
			gotAck = true
		} else {
			gotSettings = true
			rc.write(codec.AppendSettingsAck(nil))
		}
	}
}

func (rc *rawConn) headers(id uint32, endStream bool, kv ...string) []byte {
	rc.encBuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		rc.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return codec.AppendHeaders(nil, id, endStream, true, rc.encBuf.Bytes())
}

func (rc *rawConn) get(id uint32, path string) []byte {
	return rc.headers(id, true, ":method", "GET", ":scheme", "http", ":path", path, ":authority", "localhost")
}

// status decodes a response HEADERS frame and returns its :status.
func (rc *rawConn) status(f rawFrame) string {
	rc.t.Helper()
	hf, err := codec.ParseHeaders(f.FrameHeader, f.p)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.fields = rc.fields[:0]
	if _, err := rc.dec.Write(hf.Fragment); err != nil {
		rc.t.Fatal(err)
	}
	for _, hf := range rc.fields {
		if hf.Name == ":status" {
			return hf.Value
		}
	}
	return ""
}

func goAwayOf(t *testing.T, f rawFrame) codec.GoAwayFrame {
	t.Helper()
	ga, err := codec.ParseGoAway(f.FrameHeader, f.p)
	if err != nil {
		t.Fatal(err)
	}
	return ga
}

// servedServer starts a server on loopback and returns its address, the
// server and the channel Serve's result arrives on. The test stops it.
func servedServer(t *testing.T, configure func(*h2loop.Server)) (string, *h2loop.Server, chan error) {
	t.Helper()
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler)}
	if configure != nil {
		configure(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), srv, done
}

func wantServeClosed(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != h2loop.ErrServerClosed {
			t.Fatalf("Serve returned %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// waitRequests waits until the server has dispatched n requests.
func waitRequests(t *testing.T, srv *h2loop.Server, n uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := srv.Metrics(); m != nil && m.Requests.Load() >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not receive %d requests", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestShutdownGoAwaySequence: Shutdown with a request in flight. RFC 9113
// §6.8: "A server that is attempting to gracefully shut down a connection
// SHOULD send an initial GOAWAY frame with the last stream identifier set to
// 2^31-1 and a NO_ERROR code. This signals to the client that a shutdown is
// imminent and that initiating further requests is prohibited. After allowing
// time for any in-flight stream creation (at least one round-trip time), the
// server MAY send another GOAWAY frame with an updated last stream
// identifier." The server's PING measures the round trip; a stream the
// client opened before answering it is still served; then the final GOAWAY,
// the in-flight responses, and the close.
func TestShutdownGoAwaySequence(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/delay/500"))
	waitRequests(t, srv, 1)

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()

	f := rc.mustRead()
	if f.Type != codec.FrameGoAway {
		t.Fatalf("first frame after Shutdown: %v, want GOAWAY", f.Type)
	}
	if ga := goAwayOf(t, f); ga.LastStreamID != 1<<31-1 || ga.Code != codec.ErrCodeNo {
		t.Fatalf("first GOAWAY: last stream %d, %v; want 2^31-1, NO_ERROR", ga.LastStreamID, ga.Code)
	}
	ping := rc.mustRead()
	if ping.Type != codec.FramePing || ping.Flags.Has(codec.FlagAck) {
		t.Fatalf("%v, want the server's PING", ping.Type)
	}

	// A stream created before the client saw the GOAWAY is still served.
	var data [8]byte
	copy(data[:], ping.p)
	rc.write(append(rc.get(3, "/"), codec.AppendPing(nil, true, data)...))

	var finalGoAway bool
	bodies := map[uint32]string{}
	statuses := map[uint32]string{}
	ended := map[uint32]bool{}
	for {
		f, err := rc.read(10 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || isConnReset(err) {
				break
			}
			t.Fatalf("read: %v", err)
		}
		switch f.Type {
		case codec.FrameGoAway:
			ga := goAwayOf(t, f)
			if finalGoAway || ga.LastStreamID != 3 || ga.Code != codec.ErrCodeNo {
				t.Fatalf("second GOAWAY: last stream %d, %v (final seen %v); want 3, NO_ERROR", ga.LastStreamID, ga.Code, finalGoAway)
			}
			finalGoAway = true
		case codec.FrameHeaders:
			statuses[f.StreamID] = rc.status(f)
			if f.Flags.Has(codec.FlagEndStream) {
				ended[f.StreamID] = true
			}
		case codec.FrameData:
			bodies[f.StreamID] += string(f.p)
			if f.Flags.Has(codec.FlagEndStream) {
				ended[f.StreamID] = true
			}
		}
	}
	if !finalGoAway {
		t.Fatal("no final GOAWAY")
	}
	if statuses[1] != "200" || bodies[1] != "delayed\n" || !ended[1] {
		t.Fatalf("in-flight stream 1: status %q body %q ended %v", statuses[1], bodies[1], ended[1])
	}
	if statuses[3] != "200" || bodies[3] != "hello, world!\n" || !ended[3] {
		t.Fatalf("stream 3: status %q body %q ended %v", statuses[3], bodies[3], ended[3])
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	wantServeClosed(t, done)
}

// knownBug skips a check that fails because of a bug outside this test's
// reach, loudly, unless H2LOOP_KNOWN_BUGS=1 asks to run it.
func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("H2LOOP_KNOWN_BUGS") != "1" {
		t.Skipf("SKIP KNOWN BUG: %s; set H2LOOP_KNOWN_BUGS=1 to run this check", what)
	}
}

// TestShutdownRefusesNewConnections: "Shutdown stops accepting connections":
// a connection opened during a graceful shutdown is refused, or closed
// without its request being served.
func TestShutdownRefusesNewConnections(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	inFlight := make(chan error, 1)
	go func() {
		resp, err := h2cClient().Get("http://" + addr + "/delay/500")
		if err == nil {
			resp.Body.Close()
		}
		inFlight <- err
	}()
	waitRequests(t, srv, 1)
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond) // the shutdown is under way
	checkNewConnRefused(t, addr)
	if err := <-inFlight; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	wantServeClosed(t, done)
}

// TestListenerClosed: after Shutdown or Close returns, the port accepts no
// connection.
func TestListenerClosed(t *testing.T) {
	for _, how := range []string{"Shutdown", "Close"} {
		addr, srv, done := servedServer(t, nil)
		c := h2cClient()
		if resp, err := c.Get("http://" + addr + "/"); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		if how == "Shutdown" {
			srv.Shutdown(context.Background())
		} else {
			srv.Close()
		}
		wantServeClosed(t, done)
		if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			nc.Close()
			t.Fatalf("the port still accepts connections after %s", how)
		}
	}
}

// checkNewConnRefused dials during a shutdown: the dial fails, or the
// connection is closed without the request being served.
func checkNewConnRefused(t *testing.T, addr string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return // refused
	}
	defer nc.Close()
	rc := &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
	rc.enc = hpack.NewEncoder(&rc.encBuf)
	rc.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { rc.fields = append(rc.fields, f) })
	b := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
	nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(append(b, rc.get(1, "/")...)); err != nil {
		return // closed
	}
	for {
		f, err := rc.read(5 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || isConnReset(err) {
				return
			}
			t.Fatalf("new connection during shutdown: %v", err)
		}
		switch f.Type {
		case codec.FramePing:
			if !f.Flags.Has(codec.FlagAck) {
				var data [8]byte
				copy(data[:], f.p)
				nc.Write(codec.AppendPing(nil, true, data))
			}
		case codec.FrameHeaders:
			t.Fatalf("a connection opened during shutdown was served (status %s)", rc.status(f))
		}
	}
}

func isConnReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// TestShutdownInFlightGoTransport: Go's HTTP/2 client gets the response of
// its in-flight request, and Shutdown and Serve return as documented.
func TestShutdownInFlightGoTransport(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	c := h2cClient()
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := c.Get("http://" + addr + "/delay/700")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, string(b), err}
	}()
	waitRequests(t, srv, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("Shutdown returned after %v, before the in-flight request finished", d)
	}
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "delayed\n" {
		t.Fatalf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	wantServeClosed(t, done)
}

// TestShutdownDeadline: when the context ends before the streams do,
// Shutdown returns the context's error and closes the connections.
func TestShutdownDeadline(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/delay/10000"))
	waitRequests(t, srv, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	// The connection is closed: after the GOAWAY and PING, EOF without a response.
	wantClosedUnanswered(t, rc, 1)
	wantServeClosed(t, done)
}

// TestClose: Close closes listeners and connections at once.
func TestClose(t *testing.T) {
	addr, srv, done := servedServer(t, nil)
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/delay/10000"))
	waitRequests(t, srv, 1)
	c := h2cClient()
	goErr := make(chan error, 1)
	go func() {
		resp, err := c.Get("http://" + addr + "/delay/10000")
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		goErr <- err
	}()
	waitRequests(t, srv, 2)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	wantClosedUnanswered(t, rc, 1)
	select {
	case err := <-goErr:
		if err == nil {
			t.Fatal("the Go client's request succeeded after Close")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the Go client's request still runs after Close")
	}
	wantServeClosed(t, done)
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}

// wantClosedUnanswered reads until the server closes the connection and
// checks that stream id got no response.
func wantClosedUnanswered(t *testing.T, rc *rawConn, id uint32) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		f, err := rc.read(time.Until(deadline))
		if err != nil {
			if errors.Is(err, io.EOF) || isConnReset(err) {
				return
			}
			t.Fatalf("connection not closed: %v", err)
		}
		if (f.Type == codec.FrameHeaders || f.Type == codec.FrameData) && f.StreamID == id {
			t.Fatalf("stream %d answered with %v", id, f.Type)
		}
	}
}

// TestClientGoAwayClose: after the client's GOAWAY the server finishes the
// stream in flight, then closes the connection without a GOAWAY of its
// own (the client knows every stream's fate), and without an error.
func TestClientGoAwayClose(t *testing.T) {
	addr, srv, _ := servedServer(t, nil)
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.get(1, "/delay/200"))
	waitRequests(t, srv, 1)
	rc.write(codec.AppendGoAway(nil, 0, codec.ErrCodeNo, nil))
	var status string
	ended := false
	readUntil(t, rc, func(f rawFrame) bool {
		switch f.Type {
		case codec.FrameGoAway:
			t.Fatalf("GOAWAY %+v in answer to the client's", goAwayOf(t, f))
		case codec.FrameHeaders:
			status = rc.status(f)
		}
		if f.StreamID == 1 && f.Flags.Has(codec.FlagEndStream) {
			ended = true
		}
		return true // until the server closes
	})
	if status != "200" || !ended {
		t.Fatalf("stream 1: status %q, ended %v; want 200, ended", status, ended)
	}
	waitFor(t, "the connection to be released", func() bool { return srv.Gauges().OpenConns == 0 })
	if n := srv.Metrics().Snapshot()["ConnErrors"]; n != 0 {
		t.Fatalf("ConnErrors = %d after a clean close", n)
	}
}
