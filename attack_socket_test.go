package h2loop_test

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// Every attack class SECURITY.md lists, against the real server over
// loopback: the attack gets its documented answer on the wire and its
// counter, a bystander connection is served throughout (no request slower
// than bystanderBound), and goroutines and heap come back to their
// baseline afterwards. The floods answered with GOAWAY(ENHANCE_YOUR_CALM)
// go through socketFlood (attack_test.go); the rest through socketAttack.

// attackHandler serves helloHandler's paths and /count, which reads the
// whole request body and answers its length.
func attackHandler(ctx *h2loop.RequestCtx) {
	if ctx.Path() != "/count" {
		helloHandler(ctx)
		return
	}
	buf := make([]byte, 16<<10)
	n := 0
	for {
		k, err := ctx.Read(buf)
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	ctx.WriteString(strconv.Itoa(n))
}

// socketAttack starts a server with attackHandler (configured by
// configure), keeps a bystander requesting while attack runs, and checks
// that counter reached at least want, that the bystander was served, and
// that the server settles back to its baseline.
func socketAttack(t *testing.T, configure func(*h2loop.Server), counter string, want uint64, attack func(addr string)) *h2loop.Server {
	t.Helper()
	var logs logBuffer
	addr, srv, g0, h0 := baselineWith(t, &logs, func(s *h2loop.Server) {
		if configure != nil {
			configure(s)
		}
	})
	stop := make(chan struct{})
	wait := bystander(addr, stop)
	attack(addr)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Metrics().Snapshot()[counter] < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want at least %d; metrics %v\nlog: %s", counter, srv.Metrics().Snapshot()[counter], want, srv.Metrics().Snapshot(), logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	if n, err := wait(); err != nil || n == 0 {
		t.Fatalf("bystander: %d requests, %v", n, err)
	}
	afterAttack(t, g0, h0)
	return srv
}

// readUntil reads frames until keep returns false or the connection ends
// (io.EOF, a reset, or no frame for 10 s, which fails the test).
func readUntil(t *testing.T, rc *rawConn, keep func(f rawFrame) bool) {
	t.Helper()
	for {
		f, err := rc.read(10 * time.Second)
		if err != nil {
			if isClosedErr(err) {
				return
			}
			t.Fatalf("read: %v", err)
		}
		if !keep(f) {
			return
		}
	}
}

func isClosedErr(err error) bool {
	return err == io.EOF || err == io.ErrUnexpectedEOF || isConnReset(err)
}

// wantGoAway reads until the connection ends and checks that a GOAWAY with
// code arrived.
func wantGoAway(t *testing.T, rc *rawConn, code codec.ErrCode) {
	t.Helper()
	ga := readGoAway(t, rc)
	if ga == nil || ga.Code != code {
		t.Fatalf("GOAWAY %+v, want %v", ga, code)
	}
}

// rstCode returns the error code of an RST_STREAM frame.
func rstCode(t *testing.T, f rawFrame) codec.ErrCode {
	t.Helper()
	code, err := codec.ParseRSTStream(f.FrameHeader, f.p)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestSocketMadeYouReset(t *testing.T) {
	srv, _ := socketFlood(t, "too many stream resets", func(rc *rawConn) {
		var b []byte
		for id := uint32(1); id < 2000; id += 2 {
			b = append(b, rc.get(id, "/")...)
			b = codec.AppendWindowUpdate(b, id, 0) // a stream error the server must answer
		}
		go rc.nc.Write(b)
	})
	if n := srv.Metrics().ResetsSent.Load(); n < 400 {
		t.Fatalf("%d RST_STREAM sent before the GOAWAY, want the burst of 400", n)
	}
}

func TestSocketSettingsFlood(t *testing.T) {
	socketFlood(t, "too many queued control frames", func(rc *rawConn) {
		var chunk []byte
		for i := 0; i < 4000; i++ {
			chunk = codec.AppendSettings(chunk, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 100})
		}
		for i := 0; i < 200; i++ { // at most 800,000 frames, 12 MB
			rc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := rc.nc.Write(chunk); err != nil {
				return
			}
		}
	})
}

func TestSocketContinuationFlood(t *testing.T) {
	for _, size := range []int{0, 10} {
		t.Run(strconv.Itoa(size)+"-byte fragments", func(t *testing.T) {
			socketFlood(t, "too many CONTINUATION frames", func(rc *rawConn) {
				hb := rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "localhost")
				b := codec.AppendHeaders(nil, 1, true, false, hb[codec.FrameHeaderLen:])
				for i := 0; i < 100000; i++ {
					b = codec.AppendContinuation(b, 1, false, make([]byte, size))
				}
				go rc.nc.Write(b)
			})
		})
	}
}

func TestSocketUselessFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"empty DATA", codec.AppendData(nil, 1, false, nil)},
		{"PRIORITY", codec.AppendPriority(nil, 1, codec.PriorityParam{StreamDep: 3, Weight: 15})},
		{"unknown type", codec.AppendFrameHeader(nil, codec.FrameHeader{Type: 0xbb})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			socketFlood(t, "too many frames that do no work", func(rc *rawConn) {
				b := rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/count", ":authority", "localhost")
				for i := 0; i < 30000; i++ {
					b = append(b, tc.frame...)
				}
				go rc.nc.Write(b)
			})
		})
	}
}

func TestSocketWindowUpdateFlood(t *testing.T) {
	socketFlood(t, "too many WINDOW_UPDATE frames", func(rc *rawConn) {
		b := rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/count", ":authority", "localhost")
		for i := 0; i < 30000; i++ {
			b = codec.AppendWindowUpdate(b, uint32(i%2), 1)
		}
		go rc.nc.Write(b)
	})
}

// TestSocketSlowHeaders: a header block whose CONTINUATION frames come slowly
// and never end is cut at HeaderTimeout.
func TestSocketSlowHeaders(t *testing.T) {
	socketAttack(t, func(s *h2loop.Server) { s.HeaderTimeout = 300 * time.Millisecond }, "timeouts", 1, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		hb := rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "localhost")
		rc.write(codec.AppendHeaders(nil, 1, true, false, hb[codec.FrameHeaderLen:]))
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 100; i++ {
				time.Sleep(50 * time.Millisecond)
				rc.nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := rc.nc.Write(codec.AppendContinuation(nil, 1, false, []byte{0x82})); err != nil {
					return
				}
			}
		}()
		wantGoAway(t, rc, codec.ErrCodeEnhanceYourCalm)
		<-done
	})
}

// TestSocketHugeLiteral: one literal field larger than MaxHeaderListSize is
// answered 431 and the connection goes on.
func TestSocketHugeLiteral(t *testing.T) {
	socketAttack(t, nil, "header_too_large", 1, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		b := rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "localhost",
			"x-huge", strings.Repeat("h", 100<<10))
		// The block is larger than the default 16 KiB frame: split it.
		frag := b[codec.FrameHeaderLen:]
		out := codec.AppendHeaders(nil, 1, true, false, frag[:16000])
		for frag = frag[16000:]; len(frag) > 16000; frag = frag[16000:] {
			out = codec.AppendContinuation(out, 1, false, frag[:16000])
		}
		out = codec.AppendContinuation(out, 1, true, frag)
		rc.write(append(out, rc.get(3, "/")...))
		got := map[uint32]string{}
		readUntil(t, rc, func(f rawFrame) bool {
			if f.Type == codec.FrameHeaders {
				got[f.StreamID] = rc.status(f)
			}
			return len(got) < 2
		})
		if got[1] != "431" || got[3] != "200" {
			t.Fatalf("statuses %v, want 431 for the huge field and 200 after it", got)
		}
	})
}

// TestSocketStreamExhaustion: more concurrent streams than advertised; the
// extra ones are refused, the others served.
func TestSocketStreamExhaustion(t *testing.T) {
	socketAttack(t, nil, "refused", 44, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		var b []byte
		for id := uint32(1); id < 600; id += 2 { // 300 streams, 256 allowed
			b = append(b, rc.get(id, "/delay/300")...)
		}
		rc.write(b)
		ok, refused := 0, 0
		readUntil(t, rc, func(f rawFrame) bool {
			switch f.Type {
			case codec.FrameHeaders:
				if s := rc.status(f); s == "200" {
					ok++
				}
			case codec.FrameRSTStream:
				if c := rstCode(t, f); c != codec.ErrCodeRefusedStream {
					t.Fatalf("RST_STREAM %v, want REFUSED_STREAM", c)
				}
				refused++
			}
			return ok+refused < 300
		})
		if ok != 256 || refused != 44 {
			t.Fatalf("%d served, %d refused; want 256 and 44", ok, refused)
		}
	})
}

// TestSocketDataDribble: a body sent one byte per DATA frame is read whole,
// at the cost of its frames.
func TestSocketDataDribble(t *testing.T) {
	const n = 20000
	socketAttack(t, nil, "frames", n, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		b := rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/count", ":authority", "localhost")
		for i := 0; i < n; i++ {
			b = codec.AppendData(b, 1, i == n-1, []byte{'d'})
		}
		go rc.nc.Write(b)
		var body []byte
		readUntil(t, rc, func(f rawFrame) bool {
			if f.Type == codec.FrameData && f.StreamID == 1 {
				body = append(body, f.p...)
				return !f.Flags.Has(codec.FlagEndStream)
			}
			if f.Type == codec.FrameWindowUpdate || f.Type == codec.FrameHeaders || f.Type == codec.FrameSettings || f.Type == codec.FramePing {
				return true
			}
			t.Fatalf("unexpected frame %v", f.Type)
			return false
		})
		if string(body) != strconv.Itoa(n) {
			t.Fatalf("body %q, want %d", body, n)
		}
	})
}

// TestSocketStalledUpload: headers and part of a body, then silence: the
// stream is reset with CANCEL after StreamIdleTimeout and its handler's
// read fails.
func TestSocketStalledUpload(t *testing.T) {
	socketAttack(t, func(s *h2loop.Server) { s.StreamIdleTimeout = 300 * time.Millisecond }, "timeouts", 1, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		b := rc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/count", ":authority", "localhost", "content-length", "1000")
		rc.write(codec.AppendData(b, 1, false, make([]byte, 100)))
		var code codec.ErrCode = 0xff
		readUntil(t, rc, func(f rawFrame) bool {
			if f.Type == codec.FrameRSTStream && f.StreamID == 1 {
				code = rstCode(t, f)
				return false
			}
			return true
		})
		if code != codec.ErrCodeCancel {
			t.Fatalf("RST_STREAM %v, want CANCEL", code)
		}
	})
}

// TestSocketZeroWindow: a client that grants no window to the response and
// never opens it: the stream is reset after StreamIdleTimeout.
func TestSocketZeroWindow(t *testing.T) {
	socketAttack(t, func(s *h2loop.Server) { s.StreamIdleTimeout = 300 * time.Millisecond }, "timeouts", 1, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 0}))
		rc.handshake()
		rc.write(rc.get(1, "/bytes/100000"))
		var code codec.ErrCode = 0xff
		data := 0
		readUntil(t, rc, func(f rawFrame) bool {
			switch {
			case f.Type == codec.FrameData:
				data += len(f.p)
			case f.Type == codec.FrameRSTStream && f.StreamID == 1:
				code = rstCode(t, f)
				return false
			}
			return true
		})
		if code != codec.ErrCodeCancel || data != 0 {
			t.Fatalf("RST_STREAM %v after %d bytes of DATA, want CANCEL after none", code, data)
		}
	})
}

// TestSocketSmuggling: requests HTTP/2 forbids (RFC 9113 §8.2, §8.3) are each
// reset with PROTOCOL_ERROR; the connection serves on.
func TestSocketSmuggling(t *testing.T) {
	base := []string{":method", "POST", ":scheme", "http", ":path", "/count", ":authority", "localhost"}
	bad := [][]string{
		append(base[:len(base):len(base)], "connection", "keep-alive"),
		append(base[:len(base):len(base)], "transfer-encoding", "chunked"),
		append(base[:len(base):len(base)], "te", "gzip"),
		append(base[:len(base):len(base)], "upgrade", "h2c"),
		append(base[:len(base):len(base)], "X-Upper", "1"),
		append(base[:len(base):len(base)], "x-crlf", "a\r\nx-injected: 1"),
		append(base[:len(base):len(base)], "x-nul", "a\x00b"),
		append(base[:len(base):len(base)], "host", "other.example"),
		{":method", "POST", "x-early", "1", ":scheme", "http", ":path", "/count", ":authority", "localhost"},
		{":method", "POST", ":scheme", "http", ":authority", "localhost"},
		append(base[:len(base):len(base)], ":path", "/again"),
	}
	socketAttack(t, nil, "malformed", uint64(len(bad)+1), func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		var b []byte
		id := uint32(1)
		for _, kv := range bad {
			b = append(b, rc.headers(id, true, kv...)...)
			id += 2
		}
		// A content-length the body contradicts.
		b = append(b, rc.headers(id, false, append(base[:len(base):len(base)], "content-length", "5")...)...)
		b = codec.AppendData(b, id, true, []byte("123456"))
		id += 2
		b = append(b, rc.get(id, "/")...)
		rc.write(b)
		resets, served := 0, false
		readUntil(t, rc, func(f rawFrame) bool {
			switch f.Type {
			case codec.FrameRSTStream:
				if c := rstCode(t, f); c != codec.ErrCodeProtocol {
					t.Fatalf("stream %d reset with %v, want PROTOCOL_ERROR", f.StreamID, c)
				}
				resets++
			case codec.FrameHeaders:
				if f.StreamID != id || rc.status(f) != "200" {
					t.Fatalf("stream %d answered, want only %d", f.StreamID, id)
				}
				served = true
			case codec.FrameGoAway:
				t.Fatalf("GOAWAY %v", goAwayOf(t, f).Code)
			}
			return resets < len(bad)+1 || !served
		})
	})
}

// TestSocketSettingsNeverAcknowledged: a client that never acknowledges the
// server's SETTINGS gets GOAWAY(SETTINGS_TIMEOUT).
func TestSocketSettingsNeverAcknowledged(t *testing.T) {
	socketAttack(t, func(s *h2loop.Server) { s.SettingsTimeout = 300 * time.Millisecond }, "timeouts", 1, func(addr string) {
		rc := dialRaw(t, addr) // sends the preface and SETTINGS, never an ACK
		defer rc.nc.Close()
		wantGoAway(t, rc, codec.ErrCodeSettingsTimeout)
	})
}

// TestSocketStreamIDBackwards: a new stream with an identifier below one
// already used is a connection error.
func TestSocketStreamIDBackwards(t *testing.T) {
	socketAttack(t, nil, "conn_errors", 1, func(addr string) {
		rc := dialRaw(t, addr)
		defer rc.nc.Close() // the attacker leaves before the heap is measured
		rc.handshake()
		rc.write(append(rc.get(7, "/"), rc.get(3, "/")...))
		wantGoAway(t, rc, codec.ErrCodeProtocol)
	})
}

// h1Exchange writes req on a new HTTP/1.1 connection and returns everything
// the server sends until it closes the connection.
func h1Exchange(t *testing.T, addr, req string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	nc.(*net.TCPConn).CloseWrite() // nothing more: the server need not wait for it
	b, err := io.ReadAll(nc)
	if err != nil && !isConnReset(err) {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

// TestSocketH1Slowloris: an HTTP/1.1 head trickled in is cut at
// HeaderTimeout.
func TestSocketH1Slowloris(t *testing.T) {
	socketAttack(t, func(s *h2loop.Server) { s.HeaderTimeout = 300 * time.Millisecond }, "timeouts", 1, func(addr string) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost: x\r\n")
		start := time.Now()
		for time.Since(start) < 10*time.Second {
			time.Sleep(50 * time.Millisecond)
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(nc, "x"); err != nil {
				break
			}
			nc.SetReadDeadline(time.Now().Add(time.Millisecond))
			if _, err := nc.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				break // closed
			}
		}
		if d := time.Since(start); d >= 10*time.Second {
			t.Fatalf("a trickled head kept its connection for %v", d)
		}
	})
}

// TestSocketH1Smuggling: requests that could be read two ways (RFC 9112 §6.1,
// §5.2) are answered 400 or 501 and the connection closed.
func TestSocketH1Smuggling(t *testing.T) {
	reqs := map[string]string{
		"CL.TE":         "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
		"TE.CL":         "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nA\r\n0\r\n\r\n",
		"duplicate CL":  "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"obs-fold":      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
		"space colon":   "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n",
		"TE gzip":       "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
		"bad chunk":     "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"two hosts":     "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"bare LF chunk": "POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\nA\n0\n\n",
	}
	socketAttack(t, nil, "malformed", uint64(len(reqs)), func(addr string) {
		for name, req := range reqs {
			got := h1Exchange(t, addr, req)
			if !strings.HasPrefix(got, "HTTP/1.1 400 ") && !strings.HasPrefix(got, "HTTP/1.1 501 ") {
				t.Fatalf("%s: got %q, want 400 or 501 and close", name, got)
			}
			if strings.Count(got, "HTTP/1.1 ") != 1 {
				t.Fatalf("%s: more than one response: %q", name, got)
			}
		}
	})
}

// TestSocketH2CUpgradeAbuse: an Upgrade whose HTTP2-Settings do not decode
// is served as HTTP/1.1; an upgrade followed by something other than the
// client preface ends the connection with a protocol error.
func TestSocketH2CUpgradeAbuse(t *testing.T) {
	socketAttack(t, nil, "protocol_errors", 1, func(addr string) {
		got := h1Exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAA\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, "hello, world!\n") {
			t.Fatalf("bad HTTP2-Settings: got %q, want a plain HTTP/1.1 200", got)
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(nc, "GET /bytes/5 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(nc)
		line, _ := br.ReadString('\n')
		if !strings.HasPrefix(line, "HTTP/1.1 101 ") {
			t.Fatalf("upgrade answered %q", line)
		}
		rest, _ := io.ReadAll(br)
		if strings.Contains(string(rest), "hello, world") {
			t.Fatalf("a request after the upgrade without the preface was served: %q", rest)
		}
	})
}
