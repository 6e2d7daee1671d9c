// Package codec parses and appends HTTP/2 frames (RFC 9113 §4, §6) in place,
// glues golang.org/x/net/http2/hpack to per-connection header coding, and
// validates request and response header blocks (RFC 9113 §8).
//
// Parsed frames borrow the byte slice they were parsed from: a field of type
// []byte in a parsed frame is valid only as long as the input slice is.
// Nothing in this package allocates on the hot path.
package codec

import "encoding/binary"

// FrameHeaderLen is the length of the fixed frame header (RFC 9113 §4.1).
const FrameHeaderLen = 9

// ClientPreface is the connection preface a client sends first (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Protocol limits of RFC 9113.
const (
	// DefaultMaxFrameSize is the initial SETTINGS_MAX_FRAME_SIZE (§6.5.2).
	DefaultMaxFrameSize = 16384
	// MaxFrameSizeLimit is the largest permitted SETTINGS_MAX_FRAME_SIZE (§6.5.2).
	MaxFrameSizeLimit = 1<<24 - 1
	// DefaultInitialWindowSize is the initial flow-control window (§6.9.2).
	DefaultInitialWindowSize = 65535
	// MaxWindowSize is the largest flow-control window (§6.9.1).
	MaxWindowSize = 1<<31 - 1
	// DefaultHeaderTableSize is the initial SETTINGS_HEADER_TABLE_SIZE (§6.5.2).
	DefaultHeaderTableSize = 4096
	// MaxStreamID is the largest stream identifier (§5.1.1).
	MaxStreamID = 1<<31 - 1
)

// FrameType is the 8-bit type of a frame (RFC 9113 §6).
type FrameType uint8

// Frame types defined by RFC 9113 §6.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9
)

var frameTypeNames = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS",
	"PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

func (t FrameType) String() string {
	if int(t) < len(frameTypeNames) {
		return frameTypeNames[t]
	}
	return "UNKNOWN"
}

// Known reports whether t is a frame type defined by RFC 9113. Frames of
// other types must be ignored (§4.1, §5.5).
func (t FrameType) Known() bool { return t <= FrameContinuation }

// Flags are the 8 flag bits of a frame header.
type Flags uint8

// Frame flags (RFC 9113 §6).
const (
	FlagEndStream  Flags = 0x1
	FlagAck        Flags = 0x1
	FlagEndHeaders Flags = 0x4
	FlagPadded     Flags = 0x8
	FlagPriority   Flags = 0x20
)

// Has reports whether all bits of v are set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// FrameHeader is the fixed 9-byte header of every frame (RFC 9113 §4.1).
type FrameHeader struct {
	Length   uint32 // 24-bit payload length
	Type     FrameType
	Flags    Flags
	StreamID uint32 // 31 bits; the reserved bit is dropped on receipt
}

// ParseFrameHeader decodes the first 9 bytes of b. It panics if len(b) < 9.
// The reserved bit of the stream identifier is ignored (§4.1).
func ParseFrameHeader(b []byte) FrameHeader {
	_ = b[8]
	return FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: binary.BigEndian.Uint32(b[5:9]) & MaxStreamID,
	}
}

// AppendFrameHeader appends the 9-byte encoding of h to dst.
func AppendFrameHeader(dst []byte, h FrameHeader) []byte {
	return append(dst, byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags),
		byte(h.StreamID>>24)&0x7f, byte(h.StreamID>>16), byte(h.StreamID>>8), byte(h.StreamID))
}

func appendHeader(dst []byte, length int, t FrameType, f Flags, id uint32) []byte {
	return AppendFrameHeader(dst, FrameHeader{Length: uint32(length), Type: t, Flags: f, StreamID: id})
}
