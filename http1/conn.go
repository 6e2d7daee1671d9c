package http1

import (
	"time"

	"github.com/valyala/bytebufferpool"
)

// Conn is the server side of one HTTP/1.1 connection without I/O: bytes in
// (Feed) turn into requests, one at a time, and the response calls turn
// into bytes out (Output). It decides the framing of both directions
// (Content-Length, chunked, close-delimited), keep-alive and closing,
// 100-continue, HEAD, the answer to a request it refuses, and whether an
// Upgrade to h2c is taken; the transport carries the decisions out (writes
// Output, closes the socket, hands the rest of the input to HTTP/2). It
// reads no clock (times are passed in), starts no goroutine and is not
// safe for concurrent use: the transport serialises the calls.
//
// A request's life on a Conn:
//
//	      Feed                      Feed
//	idle ──────► head ──(EventHead)──► body ──(EventRequest)──► serving
//	 ▲             │                                                │
//	 │             └───────────────(EventRequest)──────────────────►┤
//	 │                                                              │
//	 └─────────────── EndResponse (keep-alive) ◄────────────────────┘
//
// A head or body the parser rejects answers with an error response and
// leaves the connection draining (input discarded) until the transport
// closes it; an accepted h2c upgrade leaves it upgraded (the rest of the
// input is HTTP/2's).
type Conn struct {
	// immutable after Init
	cfg Config

	// input
	st      connState
	phase   Phase
	gen     uint64    // bumped when the phase changes or a body makes progress
	seenGen uint64    // gen at the last Expired that saw it change
	seenAt  time.Time // when that Expired ran
	head    Request
	chunk   ChunkedDecoder
	left    int64  // Content-Length body bytes still to come
	reqBody []byte // the complete body: borrowed from Feed's input or body
	body    []byte // body bytes gathered from several Feeds
	bodyBB  *bytebufferpool.ByteBuffer
	need    int
	err     *Error
	upgrade []byte // decoded HTTP2-Settings of a request that upgrades to h2c
	scratch []byte // FillHeader's

	// the request being served
	minor     int
	keep      bool // the connection persists after the response
	kaOpt     bool // HTTP/1.0 keep-alive: say it back
	isHead    bool
	shutting  bool
	noUpgrade bool

	// the response being written
	resp      framing
	status    int
	interim   bool
	ownLength bool
	hasDate   bool
	declared  bool  // a streamed body of a length the handler declared (StartResponseLength)
	remain    int64 // of a declared length, the bytes still to come
	lastChunk bool  // the last chunk of a chunked body is in out
	out       []byte
	outBB     *bytebufferpool.ByteBuffer
	outPeak   int
}

// Config configures a Conn. Zero limits take their defaults; zero
// timeouts, except IdleTimeout, take theirs.
type Config struct {
	// Limits bound a request head and a chunked body's trailer section.
	Limits Limits
	// MaxBody bounds a request body (negative: no limit; 0: 4 MiB).
	MaxBody int64
	// TLS says the connection is encrypted: no h2c upgrade there ("h2c" is
	// "HTTP/2 over cleartext TCP", RFC 7540 §3.1).
	TLS bool
	// IdleTimeout bounds the time between requests (0: none).
	IdleTimeout time.Duration
	// HeaderTimeout bounds the time a request head takes to arrive
	// (default 10s).
	HeaderTimeout time.Duration
	// ReadTimeout bounds the time a request body makes no progress
	// (default 30s).
	ReadTimeout time.Duration
	// DrainTime is how long input is discarded after an error response
	// before the connection closes (default 1s): closing with unread input
	// makes the kernel send a reset, which can destroy the response before
	// the client reads it.
	DrainTime time.Duration
}

// DirectWrite is the body size from which WriteBody leaves the bytes to
// the transport to write from the handler's buffer instead of copying them.
const DirectWrite = 32 << 10

// keepBuffer is the largest output or body buffer put back in its pool.
const keepBuffer = 256 << 10

// Phase is where a connection is, for its timeouts.
type Phase uint8

// Phases.
const (
	PhaseIdle    Phase = iota // no byte of the next request yet: IdleTimeout
	PhaseHead                 // part of a request head: HeaderTimeout
	PhaseBody                 // head read, body arriving: ReadTimeout without progress
	PhaseServing              // a request is being answered: no timeout
	PhaseDrain                // an error answered, input discarded: DrainTime
)

type connState uint8

const (
	stHead     connState = iota // waiting for a request head
	stLength                    // Content-Length body arriving
	stChunked                   // chunked body arriving
	stServing                   // request delivered, response not ended
	stUpgraded                  // 101 written: the input is HTTP/2's
	stDrain                     // error answered: input discarded
	stClosed                    // finished: the transport closes the socket
)

type framing uint8

const (
	respLength  framing = iota // Content-Length, body in one piece
	respChunked                // Transfer-Encoding: chunked
	respClose                  // HTTP/1.0 streaming: the body ends when the connection closes
	respNone                   // HEAD, 1xx, 204, 304: no body
)

// Event is what Feed stopped at.
type Event uint8

// Events.
const (
	// EventNone: the input is used up, or Need says how much more the next
	// step needs.
	EventNone Event = iota
	// EventHead: a request head is complete and its body is still to
	// come. Head is valid until Feed is called again: take what the
	// request needs from it now.
	EventHead
	// EventRequest: a request is complete (head, when no EventHead came
	// before, body and trailers): serve it, then write its response. Feed
	// takes no more input until EndResponse.
	EventRequest
	// EventUpgrade: the request (complete, as for EventRequest) upgrades
	// the connection to h2c: the 101 response is in Output, UpgradeSettings
	// holds the client's settings, and the input after the bytes used is
	// HTTP/2.
	EventUpgrade
	// EventError: the input was refused; Err says why. Output holds the
	// error response (with Connection: close), and the connection discards
	// input until it expires, unless Closed reports it finished at once
	// (bytes that are not HTTP at all get no answer).
	EventError
)

// Init makes c ready for a new connection. cfg is copied.
func (c *Conn) Init(cfg *Config) {
	fields, trailers, scratch := c.head.Fields[:0], c.chunk.Trailers[:0], c.scratch[:0]
	*c = Conn{cfg: *cfg, scratch: scratch}
	c.head.Fields, c.chunk.Trailers = fields, trailers
	if c.cfg.MaxBody == 0 {
		c.cfg.MaxBody = 4 << 20
	}
	if c.cfg.MaxBody < 0 {
		c.cfg.MaxBody = 1<<63 - 1
	}
	if c.cfg.HeaderTimeout <= 0 {
		c.cfg.HeaderTimeout = 10 * time.Second
	}
	if c.cfg.ReadTimeout <= 0 {
		c.cfg.ReadTimeout = 30 * time.Second
	}
	if c.cfg.DrainTime <= 0 {
		c.cfg.DrainTime = time.Second
	}
}

// Feed consumes input from the start of in and stops at the first event.
// It returns how many bytes it used; the rest (a partial head or chunk
// line, or a pipelined request while one is served) must be offered again,
// with more bytes, in the next call. The slices Head, Trailers and
// RequestBody return may borrow from in.
func (c *Conn) Feed(in []byte) (used int, ev Event) {
	c.need = 0
	switch c.st {
	case stServing, stUpgraded, stClosed:
		return 0, EventNone
	case stDrain:
		return len(in), EventNone
	}
	if len(in) > 0 && c.phase == PhaseIdle {
		c.enter(PhaseHead)
	}
	for used < len(in) {
		rest := in[used:]
		var n int
		switch c.st {
		case stHead:
			n, ev = c.readHead(rest)
		case stLength:
			n, ev = c.readLength(rest)
		case stChunked:
			n, ev = c.readChunked(rest)
		default:
			return used, EventNone
		}
		if ev == EventError {
			return len(in), ev
		}
		used += n
		if ev != EventNone || c.need > 0 {
			return used, ev
		}
	}
	return used, EventNone
}

// Need is how long the input left unused by the last Feed must grow to
// before the next step can be taken (0 when it used everything).
func (c *Conn) Need() int { return c.need }

// readHead parses a request head at the start of rest.
func (c *Conn) readHead(rest []byte) (int, Event) {
	n, err := ParseRequest(rest, &c.head, &c.cfg.Limits)
	if err != nil {
		return 0, c.refuse(err)
	}
	if n == 0 {
		c.need = len(rest) + 1
		return 0, EventNone
	}
	hd := &c.head
	if hd.ContentLength > c.cfg.MaxBody {
		return n, c.refuse(ErrBodyTooLarge)
	}
	c.minor, c.keep, c.kaOpt = hd.Minor, hd.KeepAlive, hd.KeepAliveOption
	c.isHead = string(hd.Method) == "HEAD"
	c.upgrade = nil
	if hd.UpgradeH2C && !c.cfg.TLS && !c.shutting && !c.noUpgrade {
		// h2c is "HTTP/2 over cleartext TCP" (RFC 7540 §3.1): over TLS,
		// ALPN chose HTTP/1.1 already. "A server MAY ignore a received
		// Upgrade header field if it wishes to continue using the current
		// protocol on that connection" (RFC 9110 §7.8): we do when
		// HTTP2-Settings is not a valid SETTINGS payload, and while shutting
		// down.
		if s, ok := DecodeHTTP2Settings(hd.HTTP2Settings); ok {
			c.upgrade = s
		}
	}
	avail := rest[n:]
	switch {
	case hd.Chunked:
		c.st = stChunked
		c.chunk.Reset()
		c.takeBody()
	case hd.ContentLength > 0:
		if int64(len(avail)) >= hd.ContentLength {
			// The whole body is here: no copy.
			end := n + int(hd.ContentLength)
			c.reqBody = rest[n:end]
			return end, c.complete()
		}
		c.st = stLength
		c.left = hd.ContentLength
		c.takeBody()
	default:
		c.reqBody = nil
		return n, c.complete()
	}
	if hd.Expect100 && len(avail) == 0 {
		// "A server that receives a 100-continue expectation in an HTTP/1.1
		// request ... MAY send a 100 (Continue) response to encourage the
		// client to send the request content" (RFC 9110 §10.1.1): we do
		// when none of it has arrived yet.
		c.out = append(c.takeOut(), Continue...)
	}
	c.enter(PhaseBody)
	return n, EventHead
}

// readLength reads Content-Length body bytes.
func (c *Conn) readLength(rest []byte) (int, Event) {
	n := len(rest)
	if int64(n) > c.left {
		n = int(c.left)
	}
	c.body = append(c.body, rest[:n]...)
	c.left -= int64(n)
	if n > 0 {
		c.gen++
	}
	if c.left > 0 {
		c.need = len(rest) - n + 1
		return n, EventNone
	}
	c.reqBody = c.body
	return n, c.complete()
}

// readChunked decodes chunked body bytes.
func (c *Conn) readChunked(rest []byte) (int, Event) {
	n, body, end, err := c.chunk.Decode(rest, c.body, c.cfg.MaxBody, &c.cfg.Limits)
	c.body = body
	if err != nil {
		return n, c.refuse(err)
	}
	if n > 0 {
		c.gen++
	}
	if !end {
		c.need = len(rest) - n + 1
		return n, EventNone
	}
	c.reqBody = c.body
	return n, c.complete()
}

// complete ends the request whose body is whole: it is served, or it
// upgrades the connection.
func (c *Conn) complete() Event {
	if c.upgrade != nil {
		c.out = append(c.takeOut(), SwitchingToH2C...)
		c.st = stUpgraded
		c.enter(PhaseHead)
		return EventUpgrade
	}
	c.st = stServing
	c.enter(PhaseServing)
	return EventRequest
}

// refuse answers a request the parser rejected. Bytes that are not HTTP at
// all get no answer: "On a port that also serves HTTP/1.1, bytes that are
// neither the preface nor a valid HTTP/1.1 request line close the
// connection" (h2spec 3.5/2). Otherwise the response says "Connection:
// close" and the connection drains.
func (c *Conn) refuse(err error) Event {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Status: 400, Reason: err.Error()}
	}
	c.err = e
	c.releaseBody()
	if e.Status == 0 {
		c.st = stClosed
		return EventError
	}
	c.Refuse(e.Status, e.Reason)
	return EventError
}

// Refuse answers the current request with status and reason as a
// text/plain body and "Connection: close", and leaves the connection
// draining: a request the transport cannot serve (no worker free), or
// one the parser rejected.
func (c *Conn) Refuse(status int, reason string) {
	c.releaseBody()
	c.st = stDrain
	c.keep = false
	c.enter(PhaseDrain)
	out := AppendStatusLine(c.takeOut(), status)
	out = append(out, "Content-Type: text/plain; charset=utf-8\r\n"...)
	out = AppendContentLength(out, int64(len(reason)+1))
	out = append(out, "Connection: close\r\n\r\n"...)
	out = append(out, reason...)
	c.out = append(out, '\n')
}

// Err is why the input was refused (EventError), or nil.
func (c *Conn) Err() *Error { return c.err }

// Head is the parsed head of the current request (EventHead, EventRequest,
// EventUpgrade); its slices borrow from Feed's input.
func (c *Conn) Head() *Request { return &c.head }

// Upgrading reports whether the current request upgrades to h2c once its
// body is complete.
func (c *Conn) Upgrading() bool { return c.upgrade != nil }

// UpgradeSettings is the decoded HTTP2-Settings payload of the request
// that upgraded the connection (newly allocated: the caller may keep it).
func (c *Conn) UpgradeSettings() []byte { return c.upgrade }

// RequestBody is the body of the current request (EventRequest,
// EventUpgrade). It borrows from Feed's input or from a pooled buffer of
// c's: copy it before ReleaseBody or the next Feed.
func (c *Conn) RequestBody() []byte { return c.reqBody }

// Trailers are the trailer fields of a chunked request body, valid as
// RequestBody is.
func (c *Conn) Trailers() []Field {
	if c.head.Chunked {
		return c.chunk.Trailers
	}
	return nil
}

// forgetHead drops the head's references into the input buffer, which an
// idle connection must not keep alive.
func (c *Conn) forgetHead() {
	clear(c.head.Fields[:cap(c.head.Fields)])
	clear(c.chunk.Trailers[:cap(c.chunk.Trailers)])
	c.head.Reset()
	c.chunk.Trailers = c.chunk.Trailers[:0]
}

// ReleaseBody gives back the buffer behind RequestBody, once copied: an
// idle connection holds none.
func (c *Conn) ReleaseBody() { c.releaseBody() }

func (c *Conn) takeBody() {
	if c.bodyBB == nil {
		c.bodyBB = bodies.Get()
		c.body = c.bodyBB.B
	}
	c.body = c.body[:0]
}

func (c *Conn) releaseBody() {
	if bb := c.bodyBB; bb != nil {
		bb.B = c.body
		if cap(bb.B) <= keepBuffer {
			bodies.Put(bb)
		}
		c.bodyBB = nil
	}
	c.body, c.reqBody = nil, nil
}

// AllowUpgrade says whether a request that asks for h2c may upgrade the
// connection (the default); a transport that cannot hand input it has
// already taken over to HTTP/2 turns it off.
func (c *Conn) AllowUpgrade(ok bool) { c.noUpgrade = !ok }

// Shutdown makes the current response the last one (it says "Connection:
// close") and refuses upgrades from now on.
func (c *Conn) Shutdown() { c.shutting = true }

// Closed reports whether the connection is finished: the transport closes
// it once Output is written.
func (c *Conn) Closed() bool { return c.st == stClosed }

// Draining reports whether the connection discards its input after an
// error response.
func (c *Conn) Draining() bool { return c.st == stDrain }

// Serving reports whether a request was delivered and its response has
// not ended.
func (c *Conn) Serving() bool { return c.st == stServing }

// Phase is where the connection is, for its timeouts.
func (c *Conn) Phase() Phase { return c.phase }

// Between reports whether no request is in progress (idle, or draining).
func (c *Conn) Between() bool { return c.phase == PhaseIdle || c.phase == PhaseDrain }

// BodyArriving reports whether a request head was delivered (EventHead)
// and its body is still to come.
func (c *Conn) BodyArriving() bool { return c.st == stLength || c.st == stChunked }

func (c *Conn) enter(p Phase) {
	if c.phase != p {
		c.phase = p
		c.gen++
	}
}

// Expired reports whether the connection has been in its phase too long.
// Time is measured from the first call that saw the phase begin (or a body
// make progress), so a transport calling it once a second closes up to a
// second late; a head that trickles in does not reset its clock.
func (c *Conn) Expired(now time.Time) bool {
	if c.gen != c.seenGen || c.seenAt.IsZero() {
		c.seenGen, c.seenAt = c.gen, now
	}
	elapsed := now.Sub(c.seenAt)
	switch c.phase {
	case PhaseIdle:
		return c.cfg.IdleTimeout > 0 && elapsed > c.cfg.IdleTimeout
	case PhaseHead:
		return elapsed > c.cfg.HeaderTimeout
	case PhaseBody:
		return elapsed > c.cfg.ReadTimeout
	case PhaseDrain:
		return elapsed >= c.cfg.DrainTime
	}
	return false
}

// Output is the bytes to write, valid until the next call into c.
func (c *Conn) Output() []byte { return c.out }

// ConsumeOutput drops the first n bytes of Output (written); once it is
// empty its buffer goes back to its pool.
func (c *Conn) ConsumeOutput(n int) {
	if len(c.out) > c.outPeak {
		c.outPeak = len(c.out)
	}
	if n < len(c.out) {
		c.out = c.out[:copy(c.out, c.out[n:])]
		return
	}
	c.out = c.out[:0]
	if bb := c.outBB; bb != nil {
		bb.B = c.out[:min(c.outPeak, cap(c.out))]
		if cap(bb.B) <= keepBuffer {
			outs.Put(bb)
		}
		c.outBB, c.out, c.outPeak = nil, nil, 0
	}
}

// HoldsBuffers reports whether c holds a pooled buffer (an idle
// connection holds none).
func (c *Conn) HoldsBuffers() bool {
	return c.outBB != nil || c.bodyBB != nil || c.out != nil || c.body != nil
}

// Buffers: output and request bodies gathered from pieces come from pools
// of github.com/valyala/bytebufferpool, which learn the sizes in use and
// drop buffers far larger than most uses when they come back.
var (
	outs   bytebufferpool.Pool
	bodies bytebufferpool.Pool
)

func (c *Conn) takeOut() []byte {
	if c.outBB == nil {
		c.outBB = outs.Get()
		c.out = append(c.outBB.B[:0], c.out...)
	}
	return c.out
}
