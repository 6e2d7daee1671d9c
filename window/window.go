// Package window does the flow-control arithmetic of HTTP/2 (RFC 9113 §5.2,
// §6.9): the send windows the peer grants us (connection and per stream) and
// the receive windows we grant the peer, with the policy that decides when to
// announce released space with WINDOW_UPDATE.
//
// RFC 9113 §5.2.1: "Flow control is based on frames. Receivers advertise how
// many octets they are prepared to receive on a stream and for the entire
// connection. This is a credit-based scheme." and "Of the frames specified in
// this document, only DATA frames are subject to flow control; all other frame
// types do not consume space in the advertised flow-control window."
//
// The package does no I/O, starts no goroutine, takes no lock and allocates
// nothing on its hot paths (consume, update, query); the owner (the protocol
// engine's read loop, or whoever holds the connection lock) serialises calls.
// Errors are preallocated sentinels for errors.Is; this package does not know
// the codec's error types, so the caller maps them to HTTP/2 error codes:
//
//	ErrOverflow       FLOW_CONTROL_ERROR: RST_STREAM for a stream's WINDOW_UPDATE,
//	                  GOAWAY for the connection's WINDOW_UPDATE or a SETTINGS change
//	ErrExceeded       FLOW_CONTROL_ERROR (stream or connection, the receiver's choice)
//	ErrZeroIncrement  PROTOCOL_ERROR: RST_STREAM on a stream, GOAWAY on stream 0
//
// Windows are int64 internally, so no sum of a window and a 32-bit increment
// can wrap; the 2^31-1 limit is checked explicitly.
package window

import "errors"

// MaxWindow is the largest legal flow-control window, 2^31-1 octets.
//
// RFC 9113 §6.9.1: "A sender MUST NOT allow a flow-control window to exceed
// 2^31-1 octets."
const MaxWindow = 1<<31 - 1

// InitialWindow is the initial size of every window before SETTINGS or
// WINDOW_UPDATE change it.
//
// RFC 9113 §6.9.2: "When an HTTP/2 connection is first established, new
// streams are created with an initial flow-control window size of 65,535
// octets. The connection flow-control window is also 65,535 octets."
const InitialWindow = 65535

// Sentinel errors. They are compared with errors.Is and never wrapped here.
var (
	// ErrOverflow reports that a WINDOW_UPDATE or a change of
	// SETTINGS_INITIAL_WINDOW_SIZE would take a window above MaxWindow.
	// The window is left unchanged.
	//
	// RFC 9113 §6.9.1: "If a sender receives a WINDOW_UPDATE that causes a
	// flow-control window to exceed this maximum, it MUST terminate either the
	// stream or the connection, as appropriate. For streams, the sender sends
	// a RST_STREAM with an error code of FLOW_CONTROL_ERROR; for the
	// connection, a GOAWAY frame with an error code of FLOW_CONTROL_ERROR is
	// sent." RFC 9113 §6.9.2: "An endpoint MUST treat a change to
	// SETTINGS_INITIAL_WINDOW_SIZE that causes any flow-control window to
	// exceed the maximum size as a connection error (Section 5.4.1) of type
	// FLOW_CONTROL_ERROR."
	ErrOverflow = errors.New("window: flow-control window would exceed 2^31-1")

	// ErrExceeded reports that the peer sent more flow-controlled octets than
	// the receive window allows. The window is left unchanged.
	//
	// RFC 9113 §6.9.1: "The sender MUST NOT send a flow-controlled frame with
	// a length that exceeds the space available in either of the flow-control
	// windows advertised by the receiver." RFC 9113 §6.9: "A receiver MAY
	// respond with a stream error (Section 5.4.2) or connection error (Section
	// 5.4.1) of type FLOW_CONTROL_ERROR if it is unable to accept a frame."
	ErrExceeded = errors.New("window: peer exceeded the flow-control window")

	// ErrZeroIncrement reports a WINDOW_UPDATE increment of 0. The codec
	// already rejects such frames (codec.ParseWindowUpdate), so the engine
	// should never see this; it is checked here too so that the arithmetic
	// is total. The window is left unchanged.
	//
	// RFC 9113 §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE
	// frame with a flow-control window increment of 0 as a stream error
	// (Section 5.4.2) of type PROTOCOL_ERROR; errors on the connection
	// flow-control window MUST be treated as a connection error (Section
	// 5.4.1)."
	ErrZeroIncrement = errors.New("window: WINDOW_UPDATE increment of 0")
)
