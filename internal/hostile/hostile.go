// Package hostile runs misbehaving HTTP/2 servers on loopback for the tests
// of the client package and of h2bench: each Server has one Behavior, a
// single violation of RFC 9113 or a resource attack, and otherwise says as
// little as it can. It is a test kit, not a server: it speaks cleartext
// HTTP/2 with prior knowledge only and writes its frames with codec.
//
// Every connection ends by itself after Lifetime, so a client that hangs
// makes its test fail rather than wait forever.
package hostile

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// Behavior is what a Server does wrong. Unless said otherwise, it first
// reads the client preface and the frames up to the first HEADERS (the
// first request, on stream Server.Stream), sends an empty SETTINGS frame,
// then misbehaves.
type Behavior uint8

// Behaviors.
const (
	// MaxFrameSizeTooSmall sends SETTINGS_MAX_FRAME_SIZE = 16383 (RFC 9113
	// §6.5.2: "Values outside this range MUST be treated as a connection
	// error (Section 5.4.1) of type PROTOCOL_ERROR").
	MaxFrameSizeTooSmall Behavior = iota
	// MaxFrameSizeTooLarge sends SETTINGS_MAX_FRAME_SIZE = 2^24.
	MaxFrameSizeTooLarge
	// PushPromise sends PUSH_PROMISE on the request's stream although the
	// client sent SETTINGS_ENABLE_PUSH = 0 (§6.6, §8.4).
	PushPromise
	// EndlessContinuation answers with a HEADERS frame without END_HEADERS
	// and then 16 KiB CONTINUATION frames, forever.
	EndlessContinuation
	// EmptyContinuation is EndlessContinuation with empty CONTINUATION
	// frames: the header block never grows, the frames never stop.
	EmptyContinuation
	// HeadersUnopened sends HEADERS on streams the client never opened
	// (even stream ids, which only a push could open), forever.
	HeadersUnopened
	// HeadersClosed answers the request, then repeats its response HEADERS
	// on the closed stream, forever, reading what the client sends.
	HeadersClosed
	// InformationalFlood answers the request with 103 responses, forever.
	InformationalFlood
	// PingFlood sends PING frames forever and never reads again: the
	// client's PING ACKs can only queue.
	PingFlood
	// SettingsFlood sends SETTINGS frames forever and never reads again.
	SettingsFlood
	// PingFloodReading sends PING frames forever and reads (and discards)
	// everything the client writes.
	PingFloodReading
	// ZeroWindow sets SETTINGS_INITIAL_WINDOW_SIZE = 0 and never sends a
	// WINDOW_UPDATE: a request body can never be sent beyond the initial
	// connection window. It reads and discards what the client writes.
	ZeroWindow
	// GoAwaySilent sends GOAWAY(last stream id 2^31-1, NO_ERROR), the first
	// half of a graceful shutdown (§6.8), then nothing; it keeps reading.
	GoAwaySilent
	// GoAwayClose sends GOAWAY(2^31-1, NO_ERROR) and closes the connection.
	GoAwayClose
	// CloseMidFrame sends the first half of a response HEADERS frame and
	// closes the connection.
	CloseMidFrame
	// OversizedFrame sends a DATA frame of 16385 octets, above the client's
	// SETTINGS_MAX_FRAME_SIZE of 16384 (§4.2: FRAME_SIZE_ERROR).
	OversizedFrame
	// Good answers every request with 200 and "ok", correctly: the
	// control case.
	Good
	nBehaviors
)

var names = [...]string{"MaxFrameSizeTooSmall", "MaxFrameSizeTooLarge", "PushPromise", "EndlessContinuation",
	"EmptyContinuation", "HeadersUnopened", "HeadersClosed", "InformationalFlood", "PingFlood", "SettingsFlood",
	"PingFloodReading", "ZeroWindow", "GoAwaySilent", "GoAwayClose", "CloseMidFrame", "OversizedFrame", "Good"}

// String names the behavior.
func (b Behavior) String() string {
	if b < nBehaviors {
		return names[b]
	}
	return "Behavior(?)"
}

// Lifetime bounds every connection of a Server.
const Lifetime = 10 * time.Second

// Server is a listening hostile server.
type Server struct {
	// Addr is the host:port it listens on (127.0.0.1).
	Addr string

	b     Behavior
	ln    net.Listener
	wg    sync.WaitGroup
	conns atomic.Int64
	wrote atomic.Int64

	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// Start listens on 127.0.0.1:0 and serves b on every connection.
func Start(b Behavior) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), b: b, ln: ln, open: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL returns "http://" + Addr + "/".
func (s *Server) URL() string { return "http://" + s.Addr + "/" }

// Conns returns the number of connections accepted so far.
func (s *Server) Conns() int { return int(s.conns.Load()) }

// Wrote returns the number of octets written to clients so far.
func (s *Server) Wrote() int64 { return s.wrote.Load() }

// Close stops listening, closes every connection and waits for the
// connection goroutines to end.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.open[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.open, c)
				s.mu.Unlock()
			}()
			c.SetDeadline(time.Now().Add(Lifetime))
			s.serve(&conn{Conn: c, s: s})
		}()
	}
}

// conn counts what is written.
type conn struct {
	net.Conn
	s   *Server
	hdr [codec.FrameHeaderLen]byte
	buf []byte
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.s.wrote.Add(int64(n))
	return n, err
}

// readFrame reads one frame; the payload is valid until the next call.
func (c *conn) readFrame() (codec.FrameHeader, []byte, error) {
	if _, err := io.ReadFull(c.Conn, c.hdr[:]); err != nil {
		return codec.FrameHeader{}, nil, err
	}
	h := codec.ParseFrameHeader(c.hdr[:])
	if int(h.Length) > cap(c.buf) {
		c.buf = make([]byte, h.Length)
	}
	c.buf = c.buf[:h.Length]
	_, err := io.ReadFull(c.Conn, c.buf)
	return h, c.buf, err
}

// firstRequest reads the preface and frames up to the first HEADERS and
// returns its stream id, acknowledging the client's SETTINGS.
func (c *conn) firstRequest() (uint32, bool) {
	pre := make([]byte, len(codec.ClientPreface))
	if _, err := io.ReadFull(c.Conn, pre); err != nil || string(pre) != codec.ClientPreface {
		return 0, false
	}
	for {
		h, _, err := c.readFrame()
		if err != nil {
			return 0, false
		}
		switch h.Type {
		case codec.FrameSettings:
			if !h.Flags.Has(codec.FlagAck) {
				if _, err := c.Write(codec.AppendSettingsAck(nil)); err != nil {
					return 0, false
				}
			}
		case codec.FrameHeaders:
			return h.StreamID, true
		}
	}
}

// closeWrite ends the server's side of the connection (a FIN, which the
// client reads as end of input) and reads until the client closes: closing
// with unread input would send a TCP reset instead.
func (c *conn) closeWrite() {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.drain()
}

// drain reads and discards everything until the connection ends.
func (c *conn) drain() { io.Copy(io.Discard, c.Conn) }

// repeat writes p until the connection fails (the client closed it, or the
// lifetime is over).
func (c *conn) repeat(p []byte) {
	for {
		if _, err := c.Write(p); err != nil {
			return
		}
	}
}

// fill returns p repeated to at least 64 KiB.
func fill(p []byte) []byte {
	var b []byte
	for len(b) < 64<<10 {
		b = append(b, p...)
	}
	return b
}

// status200 is the field block ":status: 200" (static table index 8).
var status200 = []byte{0x88}

func (s *Server) serve(c *conn) {
	id, ok := c.firstRequest()
	if !ok {
		return
	}
	settings := codec.AppendSettings(nil)
	switch s.b {
	case MaxFrameSizeTooSmall:
		c.Write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxFrameSize, Value: codec.DefaultMaxFrameSize - 1}))
		c.drain()
	case MaxFrameSizeTooLarge:
		c.Write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxFrameSize, Value: codec.MaxFrameSizeLimit + 1}))
		c.drain()
	case PushPromise:
		out := codec.AppendPushPromise(settings, id, 2, true, []byte{0x82, 0x84, 0x86}) // GET / http
		c.Write(out)
		c.drain()
	case EndlessContinuation, EmptyContinuation:
		if _, err := c.Write(codec.AppendHeaders(settings, id, false, false, status200)); err != nil {
			return
		}
		frag := make([]byte, 0)
		if s.b == EndlessContinuation {
			// 'a' (0x61) is, to HPACK, a literal with incremental
			// indexing of name 33 (date) and a 97-octet value: the
			// run of 'a's is a valid field block, if it ever ended
			frag = make([]byte, codec.DefaultMaxFrameSize)
			for i := range frag {
				frag[i] = 'a'
			}
		}
		go c.drain()
		c.repeat(fill(codec.AppendContinuation(nil, id, false, frag)))
	case HeadersUnopened:
		var p []byte
		for i := uint32(2); len(p) < 64<<10; i += 2 {
			p = codec.AppendHeaders(p, i, true, true, status200)
		}
		go c.drain()
		c.Write(settings)
		c.repeat(p)
	case HeadersClosed:
		out := codec.AppendHeaders(settings, id, false, true, status200)
		out = codec.AppendData(out, id, true, []byte("ok"))
		if _, err := c.Write(out); err != nil {
			return
		}
		go c.drain()
		c.repeat(fill(codec.AppendHeaders(nil, id, true, true, status200)))
	case InformationalFlood:
		if _, err := c.Write(settings); err != nil {
			return
		}
		go c.drain()
		// :status 103, a literal without indexing with name index 8
		c.repeat(fill(codec.AppendHeaders(nil, id, false, true, []byte{0x08, 0x03, '1', '0', '3'})))
	case PingFlood:
		c.Write(settings)
		c.repeat(fill(codec.AppendPing(nil, false, [8]byte{'h', 'o', 's', 't', 'i', 'l', 'e'})))
	case SettingsFlood:
		c.repeat(fill(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 100})))
	case PingFloodReading:
		go c.drain()
		c.Write(settings)
		c.repeat(fill(codec.AppendPing(nil, false, [8]byte{'h', 'o', 's', 't', 'i', 'l', 'e'})))
	case ZeroWindow:
		c.Write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingInitialWindowSize, Value: 0}))
		c.drain()
	case GoAwaySilent:
		c.Write(codec.AppendGoAway(settings, codec.MaxStreamID, codec.ErrCodeNo, []byte("shutting down")))
		c.drain()
	case GoAwayClose:
		c.Write(codec.AppendGoAway(settings, codec.MaxStreamID, codec.ErrCodeNo, []byte("shutting down")))
		c.closeWrite()
	case CloseMidFrame:
		f := codec.AppendHeaders(nil, id, false, true, []byte{0x88, 0x0f, 0x12, 0x03, 'a', 'b', 'c'})
		c.Write(append(settings, f[:len(f)/2]...))
		c.closeWrite()
	case OversizedFrame:
		out := codec.AppendHeaders(settings, id, false, true, status200)
		out = codec.AppendData(out, id, true, make([]byte, codec.DefaultMaxFrameSize+1))
		c.Write(out)
		c.drain()
	case Good:
		s.good(c, id)
	}
}

// good answers every request (the first one, id, was read already) with
// 200 and "ok".
func (s *Server) good(c *conn, id uint32) {
	out := codec.AppendSettings(nil)
	for {
		if id != 0 {
			out = codec.AppendHeaders(out, id, false, true, status200)
			out = codec.AppendData(out, id, true, []byte("ok"))
			id = 0
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		h, _, err := c.readFrame()
		if err != nil {
			return
		}
		switch {
		case h.Type == codec.FrameHeaders:
			id = h.StreamID
		case h.Type == codec.FrameSettings && !h.Flags.Has(codec.FlagAck):
			out = codec.AppendSettingsAck(out)
		}
	}
}
