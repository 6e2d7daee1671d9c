package engine

import "github.com/h2loop/h2loop/codec"

// The stream state machine of RFC 9113 §5.1, as the server sees it: streams
// the client opens, and streams the server reserves with PUSH_PROMISE
// (server push, reserved (local); the client never pushes, so reserved
// (remote) never occurs):
//
//	          send PP  +--------+
//	      ,------------|  idle  |
//	     v             +--------+
//	+----------+
//	| reserved |  send H
//	| (local)  |-------------> half-closed (remote), below
//	+----------+
//	     | send R / recv R
//	     `-------------------> closed
//
//	                         +--------+
//	                 recv H  |        |
//	              ,----------|  idle  |
//	             /           |        |
//	            v            +--------+
//	      +----------+
//	      |          |  send ES
//	      |   open   |-------------------.
//	      |          |                    \
//	      +----------+                     v
//	        |  recv ES               +----------+
//	        v                        |   half   |
//	  +----------+                   |  closed  |
//	  |   half   |                   | (local)  |
//	  |  closed  |                   +----------+
//	  | (remote) |                         |
//	  +----------+                         | recv ES / R
//	        | send ES / R                  v
//	        |                        +----------+
//	        `----------------------->|          |
//	                                 |  closed  |
//	                  send R / recv R|          |
//	                                 +----------+
//
// H: HEADERS, ES: END_STREAM flag, R: RST_STREAM. Every state moves to closed
// on sending or receiving RST_STREAM. The table below lists, for every
// (state, event) pair, the next state and the error the event causes.

type streamState uint8

const (
	stIdle streamState = iota
	stOpen
	stHalfClosedRemote
	stHalfClosedLocal
	stClosed
	stReservedLocal
	numStates
)

var stateNames = [numStates]string{"idle", "open", "half-closed (remote)", "half-closed (local)", "closed", "reserved (local)"}

func (s streamState) String() string { return stateNames[s] }

type streamEvent uint8

const (
	evRecvHeaders   streamEvent = iota // a HEADERS frame (request headers or trailers)
	evRecvData                         // a DATA frame
	evRecvEndStream                    // END_STREAM flag on a received HEADERS or DATA frame
	evRecvRST                          // RST_STREAM received
	evSendHeaders                      // response HEADERS sent
	evSendEndStream                    // END_STREAM flag sent
	evSendRST                          // RST_STREAM sent
	numEvents
)

var eventNames = [numEvents]string{"recv HEADERS", "recv DATA", "recv END_STREAM", "recv RST_STREAM",
	"send HEADERS", "send END_STREAM", "send RST_STREAM"}

func (e streamEvent) String() string { return eventNames[e] }

// errKind says what an event in a state provokes.
type errKind uint8

const (
	okEvent   errKind = iota // legal
	connErr                  // connection error with code
	streamErr                // stream error with code
	ignore                   // legal, nothing to do (e.g. a frame racing our RST_STREAM)
	localBug                 // we tried something illegal: an internal error
)

type transition struct {
	next streamState
	kind errKind
	code codec.ErrCode
}

// transitions is the §5.1 state machine. Quotes of the rules behind the
// non-trivial entries:
//
//   - idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in
//     this state MUST be treated as a connection error of type PROTOCOL_ERROR."
//   - half-closed (remote): "If an endpoint receives additional frames, other
//     than WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in this
//     state, it MUST respond with a stream error of type STREAM_CLOSED."
//   - reserved (local): "Receiving any type of frame other than RST_STREAM,
//     PRIORITY, or WINDOW_UPDATE on a stream in this state MUST be treated as
//     a connection error of type PROTOCOL_ERROR"; "The endpoint can send a
//     HEADERS frame. This causes the stream to open in a "half-closed
//     (remote)" state."
//   - closed: "An endpoint MUST NOT send frames other than PRIORITY on a
//     closed stream. An endpoint MAY treat receipt of any other type of frame
//     on a closed stream as a connection error (Section 5.4.1) of type
//     STREAM_CLOSED, except as noted below." HEADERS can neither be in flight
//     on a stream the client ended nor open a stream again (§5.1.1): the
//     connection error. DATA may be in flight after a reset: the milder
//     stream error. Of a stream we reset ourselves, "An endpoint MUST
//     minimally process and then discard any frames it receives in this
//     state": the engine remembers recent resets and discards their frames
//     before the table is consulted.
var transitions = [numStates][numEvents]transition{
	stIdle: {
		evRecvHeaders:   {stOpen, okEvent, 0},
		evRecvData:      {stIdle, connErr, codec.ErrCodeProtocol},
		evRecvEndStream: {stIdle, connErr, codec.ErrCodeProtocol},
		evRecvRST:       {stIdle, connErr, codec.ErrCodeProtocol},
		evSendHeaders:   {stIdle, localBug, codec.ErrCodeInternal},
		evSendEndStream: {stIdle, localBug, codec.ErrCodeInternal},
		evSendRST:       {stClosed, okEvent, 0},
	},
	stOpen: {
		evRecvHeaders:   {stOpen, okEvent, 0},
		evRecvData:      {stOpen, okEvent, 0},
		evRecvEndStream: {stHalfClosedRemote, okEvent, 0},
		evRecvRST:       {stClosed, okEvent, 0},
		evSendHeaders:   {stOpen, okEvent, 0},
		evSendEndStream: {stHalfClosedLocal, okEvent, 0},
		evSendRST:       {stClosed, okEvent, 0},
	},
	stHalfClosedRemote: {
		evRecvHeaders:   {stHalfClosedRemote, streamErr, codec.ErrCodeStreamClosed},
		evRecvData:      {stHalfClosedRemote, streamErr, codec.ErrCodeStreamClosed},
		evRecvEndStream: {stHalfClosedRemote, streamErr, codec.ErrCodeStreamClosed},
		evRecvRST:       {stClosed, okEvent, 0},
		evSendHeaders:   {stHalfClosedRemote, okEvent, 0},
		evSendEndStream: {stClosed, okEvent, 0},
		evSendRST:       {stClosed, okEvent, 0},
	},
	stHalfClosedLocal: {
		evRecvHeaders:   {stHalfClosedLocal, okEvent, 0},
		evRecvData:      {stHalfClosedLocal, okEvent, 0},
		evRecvEndStream: {stClosed, okEvent, 0},
		evRecvRST:       {stClosed, okEvent, 0},
		evSendHeaders:   {stHalfClosedLocal, localBug, codec.ErrCodeInternal},
		evSendEndStream: {stHalfClosedLocal, localBug, codec.ErrCodeInternal},
		evSendRST:       {stClosed, okEvent, 0},
	},
	stClosed: {
		evRecvHeaders:   {stClosed, connErr, codec.ErrCodeStreamClosed},
		evRecvData:      {stClosed, streamErr, codec.ErrCodeStreamClosed},
		evRecvEndStream: {stClosed, streamErr, codec.ErrCodeStreamClosed},
		evRecvRST:       {stClosed, ignore, 0},
		evSendHeaders:   {stClosed, ignore, 0},
		evSendEndStream: {stClosed, ignore, 0},
		evSendRST:       {stClosed, ignore, 0},
	},
	stReservedLocal: {
		evRecvHeaders:   {stReservedLocal, connErr, codec.ErrCodeProtocol},
		evRecvData:      {stReservedLocal, connErr, codec.ErrCodeProtocol},
		evRecvEndStream: {stReservedLocal, connErr, codec.ErrCodeProtocol},
		evRecvRST:       {stClosed, okEvent, 0},
		evSendHeaders:   {stHalfClosedRemote, okEvent, 0},
		evSendEndStream: {stReservedLocal, localBug, codec.ErrCodeInternal},
		evSendRST:       {stClosed, okEvent, 0},
	},
}
