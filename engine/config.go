package engine

import (
	"time"

	"github.com/h2loop/h2loop/codec"
)

// Config holds the limits of one connection. Every limit has a safe default,
// applied by Normalize to zero fields.
//
// The fields marked "h2loop.Server option" are the Server's protocol options:
// the Server's fields and their docs are generated from these (go generate
// in the module's root runs internal/optgen), so these docs are written for
// the Server's users, and a change here is a change there.
type Config struct {
	// MaxConcurrentStreams is advertised as SETTINGS_MAX_CONCURRENT_STREAMS
	// on each HTTP/2 connection; streams beyond it are refused with
	// RST_STREAM(REFUSED_STREAM). Default 256, at most 65536.
	MaxConcurrentStreams uint32 // h2loop.Server option
	// InitialStreamWindow is the server's SETTINGS_INITIAL_WINDOW_SIZE: how
	// many request body bytes a client may send on one HTTP/2 stream before
	// they are read. Default 256 KiB, at least 65535, at most 2^31-1.
	InitialStreamWindow uint32 // h2loop.Server option
	// InitialConnWindow is the receive window of each HTTP/2 connection:
	// how many request body bytes a client may send on it, over all its
	// streams, before they are read (see MaxConnBodyBuffer). Default 1 MiB,
	// at least 65535, at most 2^31-1.
	InitialConnWindow uint32 // h2loop.Server option
	// MaxFrameSize is the server's SETTINGS_MAX_FRAME_SIZE: the largest
	// frame payload a client may send. Default and minimum 16384, at most
	// 16777215.
	MaxFrameSize uint32 // h2loop.Server option
	// MaxHeaderListSize is the server's SETTINGS_MAX_HEADER_LIST_SIZE; a
	// larger request header section is answered with 431 (see
	// MaxRejectedHeaderSections). It also bounds an HTTP/1.1 request's
	// head. Default 64 KiB.
	MaxHeaderListSize uint32 // h2loop.Server option
	// HeaderTableSize is the server's SETTINGS_HEADER_TABLE_SIZE: the size
	// of the HPACK dynamic table the client may use for request headers.
	// Default 4096.
	HeaderTableSize uint32 // h2loop.Server option
	// MaxRequestBodySize caps a request body that is declared or gathered
	// whole: a content-length above it, or more than it arriving before
	// the handler starts, is answered with 413, and ctx.Body stops there
	// with ErrBodyTooLarge. A body of undeclared length that the handler
	// reads as it arrives (ctx.Read, r.Body under WrapHandler: gRPC
	// streams, long uploads) is bounded by flow control, not by its total.
	// Default 8 MiB; negative means no limit.
	MaxRequestBodySize int64 // h2loop.Server option
	// BodyStreamThreshold is how many request body bytes one read pass may
	// buffer for a request before its handler is started at once (handlers
	// start when the frames at hand are processed anyway). Default 64 KiB.
	BodyStreamThreshold int // h2loop.Server option
	// MaxConnBodyBuffer bounds the request body bytes one HTTP/2 connection
	// holds for running handlers that have not read them yet. Below it,
	// the connection window is returned as bytes arrive, so that streams
	// whose handlers do not read (queued, busy elsewhere) cannot use up the
	// window a reading handler needs; each stream is held to its own
	// window. Above it, connection credit waits for the handlers to read.
	// Default 8 MiB, at least InitialConnWindow.
	MaxConnBodyBuffer int64 // h2loop.Server option
	// MaxQueuedControlFrames caps control frames (SETTINGS ACK, PING ACK,
	// RST_STREAM) produced but not yet written; a peer that provokes more
	// without reading gets GOAWAY(ENHANCE_YOUR_CALM). Default 10000.
	MaxQueuedControlFrames int // h2loop.Server option
	// MaxResetsPerSecond caps resets of active streams: the client's own
	// RST_STREAM (the rapid reset attack, CVE-2023-44487) and the stream
	// errors it provokes (MadeYouReset, CVE-2025-8671); beyond it the
	// connection gets GOAWAY(ENHANCE_YOUR_CALM). Default 200 a second
	// (with a burst of 2x).
	MaxResetsPerSecond int // h2loop.Server option
	// MaxUselessFrames caps frames that do no work (empty DATA without
	// END_STREAM, PRIORITY, WINDOW_UPDATE on closed streams, unknown frame
	// types); the count decays by one per request served. Beyond it the
	// connection gets GOAWAY(ENHANCE_YOUR_CALM). Default 10000.
	MaxUselessFrames int // h2loop.Server option
	// MaxHeaderBlockFrames caps CONTINUATION frames in one field block (the
	// CONTINUATION flood); beyond it the connection gets
	// GOAWAY(ENHANCE_YOUR_CALM). Default 64.
	MaxHeaderBlockFrames int // h2loop.Server option
	// MaxRejectedHeaderSections caps the header sections above
	// MaxHeaderListSize (each answered 431, or a reset for trailers) a
	// connection may send; the count decays by one per request served.
	// Beyond it the connection is closed with GOAWAY(ENHANCE_YOUR_CALM):
	// an HPACK bomb (small blocks that refer to one large table entry
	// thousands of times) costs decoding time on every block. Default 32.
	MaxRejectedHeaderSections int // h2loop.Server option
	// MaxWindowUpdatesPerDataFrame bounds the WINDOW_UPDATE frames a client
	// may send, which are due only for DATA the server sends: over the
	// connection's life at most 100, plus this many per DATA frame sent,
	// plus one per KiB of DATA sent; more is a WINDOW_UPDATE flood,
	// answered with GOAWAY(ENHANCE_YOUR_CALM). Default 10.
	MaxWindowUpdatesPerDataFrame int // h2loop.Server option
	// WriteChunk is how many bytes of DATA are framed per scheduling round
	// before the output is written, when windows allow more. Default 256
	// KiB. DATA of static bodies that a transport writes from the body's
	// own memory (gathered writes, no copy) is framed up to four times
	// that.
	WriteChunk int // h2loop.Server option
	// SettingsTimeout is how long an HTTP/2 client has to acknowledge the
	// server's SETTINGS and, at the start, to send its preface and
	// SETTINGS. It also bounds a new connection's wait for its first bytes
	// and the TLS handshake. Default 10s.
	SettingsTimeout time.Duration // h2loop.Server option
	// IdleTimeout closes an HTTP/2 connection with no open streams after
	// this long (GOAWAY NO_ERROR), and an HTTP/1.1 connection that waits
	// this long for its next request. Default 5 minutes; negative disables.
	IdleTimeout time.Duration // h2loop.Server option
	// HeaderTimeout bounds the time between the first and the last frame of
	// an HTTP/2 request's header section, and the receipt of an HTTP/1.1
	// request's head (net/http's ReadHeaderTimeout). Default 10s.
	HeaderTimeout time.Duration // h2loop.Server option
	// EnableConnectProtocol advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
	// (RFC 8441) and accepts extended CONNECT requests (:method CONNECT
	// with :protocol, e.g. WebSockets over HTTP/2; ctx.Protocol() names
	// it), whose handlers then stream both ways. Off by default: a request
	// with :protocol is then malformed.
	EnableConnectProtocol bool // h2loop.Server option
	// StreamIdleTimeout ends a stream that waits on the client when no
	// frame went either way on it for this long, with a Timeouts count and
	// a log line: a stream whose request is still arriving (the client has
	// not ended its side) gets a 408 response if none has started,
	// RST_STREAM(CANCEL) otherwise; a stream whose response bytes wait for
	// window the client does not grant gets RST_STREAM(CANCEL). It bounds
	// how long a stalled upload or a zero-window reader holds a stream slot,
	// its handler and its buffered response. Streams waiting on their
	// handler (a long poll, a slow handler) are not affected.
	// Default 5 minutes; negative disables.
	StreamIdleTimeout time.Duration // h2loop.Server option
	// Date, when set, returns the date of responses whose handler set
	// none (RFC 9110 §6.6.1: "An origin server with a clock ... MUST
	// generate a Date header field in all 2xx (Successful), 3xx
	// (Redirection), and 4xx (Client Error) responses"). It is called once
	// per response: return one string for a whole second (the encoder
	// indexes the field, so the responses of that second carry it in one
	// byte).
	Date func() string
	// EnablePush lets handlers push (ctx.Push, http.Pusher through
	// WrapHandler): PUSH_PROMISE for requests the server then answers on
	// streams it reserves, when the client allows it
	// (SETTINGS_ENABLE_PUSH). Off by default.
	EnablePush bool // h2loop.Server option
	// AltSvc, when set, is an Alt-Svc field value (RFC 7838 §3, such as
	// `h3=":443"; ma=86400`) sent in an ALTSVC frame on stream 0 on every
	// HTTP/2 connection, for the origin of its first request (scheme and
	// :authority), before that request's response. A handler can send one
	// for its request with ctx.SendAltSvc.
	AltSvc string // h2loop.Server option
	// Origins, when set, are sent in an ORIGIN frame (RFC 8336) when an
	// HTTP/2 connection over TLS starts (see Conn.StartTLS): the origins
	// ("https://host[:port]") the client may send requests for on it (the
	// certificate must cover them). A handler can send one with
	// ctx.SendOrigin.
	Origins []string // h2loop.Server option
	// Logf, when set, receives one line per protocol error, reset and limit
	// crossed.
	Logf func(format string, args ...any)

	pools *connPools // set by Normalize, shared by the connections of this Config
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Normalize fills zero fields with defaults and clamps out-of-range values.
// A negative limit or timeout means its default too (a limit cannot be
// turned off by accident), except where a field says otherwise
// (MaxRequestBodySize, IdleTimeout, StreamIdleTimeout).
func (c *Config) Normalize() {
	def := func(p *uint32, v uint32) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.MaxConcurrentStreams, 256)
	def(&c.InitialStreamWindow, 256<<10)
	def(&c.InitialConnWindow, 1<<20)
	def(&c.MaxFrameSize, codec.DefaultMaxFrameSize)
	def(&c.MaxHeaderListSize, 64<<10)
	def(&c.HeaderTableSize, codec.DefaultHeaderTableSize)
	if c.MaxConcurrentStreams > 1<<16 {
		c.MaxConcurrentStreams = 1 << 16 // the stream table is allocated up front
	}
	if c.InitialStreamWindow < codec.DefaultInitialWindowSize {
		// A client may send up to 65535 bytes before it applies our SETTINGS
		// (§6.9.3); a smaller window would make us reject data it may send.
		c.InitialStreamWindow = codec.DefaultInitialWindowSize
	}
	if c.MaxFrameSize < codec.DefaultMaxFrameSize {
		c.MaxFrameSize = codec.DefaultMaxFrameSize
	}
	if c.MaxFrameSize > codec.MaxFrameSizeLimit {
		c.MaxFrameSize = codec.MaxFrameSizeLimit
	}
	if c.InitialStreamWindow > codec.MaxWindowSize {
		c.InitialStreamWindow = codec.MaxWindowSize
	}
	if c.InitialConnWindow > codec.MaxWindowSize {
		c.InitialConnWindow = codec.MaxWindowSize
	}
	if c.InitialConnWindow < codec.DefaultInitialWindowSize {
		c.InitialConnWindow = codec.DefaultInitialWindowSize
	}
	if c.MaxRequestBodySize == 0 {
		c.MaxRequestBodySize = 8 << 20
	}
	if c.MaxConnBodyBuffer <= 0 {
		c.MaxConnBodyBuffer = 8 << 20
	}
	if c.MaxConnBodyBuffer < int64(c.InitialConnWindow) {
		c.MaxConnBodyBuffer = int64(c.InitialConnWindow)
	}
	if c.BodyStreamThreshold <= 0 {
		c.BodyStreamThreshold = 64 << 10
	}
	if c.MaxQueuedControlFrames <= 0 {
		c.MaxQueuedControlFrames = 10000
	}
	if c.MaxResetsPerSecond <= 0 {
		c.MaxResetsPerSecond = 200
	}
	if c.MaxUselessFrames <= 0 {
		c.MaxUselessFrames = 10000
	}
	if c.MaxRejectedHeaderSections <= 0 {
		c.MaxRejectedHeaderSections = 32
	}
	if c.MaxHeaderBlockFrames <= 0 {
		c.MaxHeaderBlockFrames = 64
	}
	if c.MaxWindowUpdatesPerDataFrame <= 0 {
		c.MaxWindowUpdatesPerDataFrame = 10
	}
	if c.WriteChunk <= 0 {
		c.WriteChunk = 256 << 10
	}
	if c.SettingsTimeout <= 0 {
		c.SettingsTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 { // negative: no idle timeout
		c.IdleTimeout = 5 * time.Minute
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = 10 * time.Second
	}
	if c.StreamIdleTimeout == 0 {
		c.StreamIdleTimeout = 5 * time.Minute
	}
	if c.pools == nil {
		c.pools = newConnPools(c.MaxConcurrentStreams)
	}
}
