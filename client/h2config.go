package client

import (
	"errors"

	"github.com/h2loop/h2loop/codec"
)

// H2Config configures an HTTP/2 client connection. A zero limit means its
// default.
type H2Config struct {
	// MaxConcurrentStreams is the most streams this side keeps open (h2load
	// -m). The server's SETTINGS_MAX_CONCURRENT_STREAMS may lower it.
	MaxConcurrentStreams int
	// StreamWindowBits sets SETTINGS_INITIAL_WINDOW_SIZE to 2^bits-1 (-w).
	StreamWindowBits int
	// ConnWindowBits sets the connection window to 2^bits-1 (-W).
	ConnWindowBits int
	// HeaderTableSize is the decoder's dynamic table limit we advertise
	// (SETTINGS_HEADER_TABLE_SIZE, --header-table-size).
	HeaderTableSize uint32
	// EncoderTableSize caps the encoder's dynamic table
	// (--encoder-header-table-size).
	EncoderTableSize uint32
	// MaxFrameSize is the SETTINGS_MAX_FRAME_SIZE we advertise (-f).
	MaxFrameSize uint32
	// EnablePush lets the server push (RFC 9113 §8.4): the client sends
	// SETTINGS_ENABLE_PUSH = 1 and SETTINGS_MAX_CONCURRENT_STREAMS =
	// MaxConcurrentStreams, which bounds the pushed streams it holds
	// (reserved or open), accepts valid promises and receives the pushed
	// responses (see PushHandler; counted in PushesReceived, BytesPushed).
	// Off by default, as h2load: SETTINGS_ENABLE_PUSH = 0 and PUSH_PROMISE
	// is ErrPushPromise.
	EnablePush bool

	// Limits on what a server may make the client hold or do. Crossing one
	// is a connection error: Feed appends GOAWAY and returns one of the
	// errors below.

	// MaxHeaderBlockSize bounds a response field block as it arrives: the
	// octets of a HEADERS frame and its CONTINUATION frames, which the
	// client must buffer until END_HEADERS (ErrHeaderBlockTooLarge).
	// Default 256 KiB.
	MaxHeaderBlockSize uint32
	// MaxContinuations bounds the CONTINUATION frames of one field block,
	// however small (ErrTooManyContinuations). Default 16 (nghttp2, h2load's
	// library, allows 8).
	MaxContinuations int
	// MaxQueuedControl bounds the SETTINGS and PING acknowledgements the
	// client has appended to its output and not yet seen written: a server
	// that sends them and does not read (ErrControlFlood). Default 10000.
	MaxQueuedControl int
	// MaxFramesWithoutProgress bounds the frames in a row that advance no
	// request: PING, SETTINGS, PRIORITY, GOAWAY, informational responses,
	// frames on closed streams, empty DATA, unknown types, and WINDOW_UPDATE
	// while no request body is being sent (ErrNoProgress). A response's
	// headers, DATA octets for an open stream, and the end of a stream each
	// count as progress. Default 10000.
	MaxFramesWithoutProgress int
}

// Default limits of H2Config.
const (
	DefaultMaxHeaderBlockSize       = 256 << 10
	DefaultMaxContinuations         = 16
	DefaultMaxQueuedControl         = 10000
	DefaultMaxFramesWithoutProgress = 10000
)

// DefaultH2Config returns h2load's defaults: one stream, windows of 2^30-1,
// 4 KiB header tables, 16 KiB frames; and the default limits.
func DefaultH2Config() H2Config {
	return H2Config{MaxConcurrentStreams: 1, StreamWindowBits: 30, ConnWindowBits: 30,
		HeaderTableSize: 4096, EncoderTableSize: 4096, MaxFrameSize: codec.DefaultMaxFrameSize,
		MaxHeaderBlockSize: DefaultMaxHeaderBlockSize, MaxContinuations: DefaultMaxContinuations,
		MaxQueuedControl: DefaultMaxQueuedControl, MaxFramesWithoutProgress: DefaultMaxFramesWithoutProgress}
}

// normalize applies the defaults to the zero fields.
func (cfg *H2Config) normalize() {
	if cfg.MaxConcurrentStreams < 1 {
		cfg.MaxConcurrentStreams = 1
	}
	if cfg.MaxFrameSize < codec.DefaultMaxFrameSize {
		cfg.MaxFrameSize = codec.DefaultMaxFrameSize
	}
	if cfg.MaxHeaderBlockSize == 0 {
		cfg.MaxHeaderBlockSize = DefaultMaxHeaderBlockSize
	}
	if cfg.MaxContinuations <= 0 {
		cfg.MaxContinuations = DefaultMaxContinuations
	}
	if cfg.MaxQueuedControl <= 0 {
		cfg.MaxQueuedControl = DefaultMaxQueuedControl
	}
	if cfg.MaxFramesWithoutProgress <= 0 {
		cfg.MaxFramesWithoutProgress = DefaultMaxFramesWithoutProgress
	}
}

// Errors of Submit.
var (
	// ErrNoStreamSlot: the connection already has as many open streams as
	// allowed; wait for one to close.
	ErrNoStreamSlot = errors.New("client: no free stream slot")
	// ErrGoingAway: the server sent GOAWAY, the client is shutting the
	// connection down, or the stream ids are exhausted: open a new one.
	ErrGoingAway = errors.New("client: connection going away")
)

// Connection errors of Feed found by the client itself (the frame parsers
// of codec return their own, e.g. codec.ErrSettingMaxFrameSize,
// codec.ErrFrameTooLarge). Each is a *codec.ConnError, so errors.As finds
// its code, and the value Feed returns, so errors.Is finds it.
var (
	// ErrPushPromise: the server sent PUSH_PROMISE although the client
	// disabled push (PROTOCOL_ERROR).
	ErrPushPromise = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server sent PUSH_PROMISE with push disabled (SETTINGS_ENABLE_PUSH = 0)"}
	// ErrEnablePush: the server's SETTINGS set SETTINGS_ENABLE_PUSH to 1
	// (PROTOCOL_ERROR).
	ErrEnablePush = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server set SETTINGS_ENABLE_PUSH to 1"}
	// ErrUnopenedStream: HEADERS, or another frame, on a stream the client
	// never opened: an even (pushed) id, or an id it has not used yet
	// (PROTOCOL_ERROR).
	ErrUnopenedStream = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server sent a frame on a stream the client never opened"}
	// ErrHeaderBlockTooLarge: a field block above MaxHeaderBlockSize
	// (ENHANCE_YOUR_CALM).
	ErrHeaderBlockTooLarge = &codec.ConnError{Code: codec.ErrCodeEnhanceYourCalm,
		Reason: "server sent a field block (HEADERS and CONTINUATION) larger than MaxHeaderBlockSize"}
	// ErrTooManyContinuations: more than MaxContinuations CONTINUATION
	// frames in one field block (ENHANCE_YOUR_CALM).
	ErrTooManyContinuations = &codec.ConnError{Code: codec.ErrCodeEnhanceYourCalm,
		Reason: "server sent more CONTINUATION frames in one field block than MaxContinuations"}
	// ErrControlFlood: more than MaxQueuedControl SETTINGS and PING
	// acknowledgements waiting to be written (ENHANCE_YOUR_CALM).
	ErrControlFlood = &codec.ConnError{Code: codec.ErrCodeEnhanceYourCalm,
		Reason: "server floods SETTINGS or PING and does not read the acknowledgements (MaxQueuedControl)"}
	// ErrNoProgress: more than MaxFramesWithoutProgress frames in a row
	// that advanced no request (ENHANCE_YOUR_CALM).
	ErrNoProgress = &codec.ConnError{Code: codec.ErrCodeEnhanceYourCalm,
		Reason: "server sent MaxFramesWithoutProgress frames in a row that advanced no request"}

	errExpectedContinuation = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server interrupted a field block with a frame other than its CONTINUATION"}
	errStrayContinuation = &codec.ConnError{Code: codec.ErrCodeProtocol,
		Reason: "server sent CONTINUATION without a HEADERS frame before it"}
)
