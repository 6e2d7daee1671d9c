package codec

import "strconv"

// ErrCode is an HTTP/2 error code carried by RST_STREAM and GOAWAY (RFC 9113 §7).
type ErrCode uint32

// Error codes of RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
	"COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return "ERR_0x" + strconv.FormatUint(uint64(c), 16)
}

// ConnError is a connection error (RFC 9113 §5.4.1): the connection is closed
// with GOAWAY carrying Code.
type ConnError struct {
	Code   ErrCode
	Reason string
}

func (e *ConnError) Error() string { return "connection error: " + e.Code.String() + ": " + e.Reason }

// StreamError is a stream error (RFC 9113 §5.4.2): the stream is reset with
// RST_STREAM carrying Code; the connection lives on.
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Reason   string
}

func (e *StreamError) Error() string {
	return "stream error: stream " + strconv.FormatUint(uint64(e.StreamID), 10) + ": " + e.Code.String() + ": " + e.Reason
}

// connErr returns a preallocated connection error; used for package sentinels.
func connErr(code ErrCode, reason string) *ConnError { return &ConnError{Code: code, Reason: reason} }

// Sentinel errors returned by the frame parsers. They are preallocated so the
// error path allocates nothing; compare with errors.Is or ==.
var (
	ErrFrameTooLarge         = connErr(ErrCodeFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE")
	ErrPadding               = connErr(ErrCodeProtocol, "padding does not fit in the frame payload")
	ErrShortPayload          = connErr(ErrCodeFrameSize, "payload too short for frame fields")
	ErrStreamIDZero          = connErr(ErrCodeProtocol, "frame requires a non-zero stream id")
	ErrStreamIDNonZero       = connErr(ErrCodeProtocol, "frame requires stream id zero")
	ErrPriorityLength        = connErr(ErrCodeFrameSize, "PRIORITY payload length not 5") // a stream error, see ParsePriority
	ErrRSTStreamLength       = connErr(ErrCodeFrameSize, "RST_STREAM payload length not 4")
	ErrSettingsLength        = connErr(ErrCodeFrameSize, "SETTINGS payload length not a multiple of 6")
	ErrSettingsAckLength     = connErr(ErrCodeFrameSize, "SETTINGS ACK with a payload")
	ErrPingLength            = connErr(ErrCodeFrameSize, "PING payload length not 8")
	ErrGoAwayLength          = connErr(ErrCodeFrameSize, "GOAWAY payload shorter than 8")
	ErrWindowUpdateLength    = connErr(ErrCodeFrameSize, "WINDOW_UPDATE payload length not 4")
	ErrSettingEnablePush     = connErr(ErrCodeProtocol, "SETTINGS_ENABLE_PUSH not 0 or 1")
	ErrSettingInitialWindow  = connErr(ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1")
	ErrSettingMaxFrameSize   = connErr(ErrCodeProtocol, "SETTINGS_MAX_FRAME_SIZE out of range")
	ErrSettingEnableConnect  = connErr(ErrCodeProtocol, "SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1")
	ErrWindowUpdateZeroConn  = connErr(ErrCodeProtocol, "WINDOW_UPDATE increment of 0 on the connection")
	ErrPushPromiseFromClient = connErr(ErrCodeProtocol, "PUSH_PROMISE received by a server")
)
