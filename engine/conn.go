// Package engine is the sans-I/O HTTP/2 server connection: bytes in, requests
// dispatched and bytes out. It does no I/O, starts no goroutine and is not
// safe for concurrent use: the transport serialises every call on one
// connection with a lock of its own.
package engine

import (
	"errors"
	"math"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/streamtable"
	"github.com/h2loop/h2loop/window"
)

// Callbacks connect the engine to the server. They are called with the
// connection's lock held and must not call back into the Conn.
type Callbacks interface {
	// AcquireRequest returns a reset Request for a new stream.
	AcquireRequest() *Request
	// Dispatch starts the handler for r. It must not block: it queues r to a
	// worker, or runs it inline after the current Feed returns.
	Dispatch(r *Request)
	// Wake tells a handler blocked on r that something changed: body bytes
	// arrived, the body ended, send window opened, or the stream was canceled.
	Wake(r *Request)
	// ReleaseRequest returns r once both its handler and its stream are done.
	ReleaseRequest(r *Request)
}

type connState uint8

const (
	statePreface  connState = iota // waiting for the 24-byte client preface
	stateSettings                  // preface seen; the first frame must be SETTINGS
	stateOpen
	stateClosed // GOAWAY sent after an error, or the transport closed
)

// stream is the per-stream record, stored inline in the stream table.
type stream struct {
	id        uint32
	state     streamState
	send      window.SendStream
	recv      window.Recv
	req       *Request
	queued    bool // in the send queue
	respDone  bool // END_STREAM or RST_STREAM sent
	clen      int64
	trailers  bool // a trailer section is being received
	buffering bool // counts toward Conn.buffered
	lazy      bool // to be dispatched at the end of the current Feed
	draining  bool // response complete, handler done: body discarded up to drainLimit
	inQueue   bool // scratch mark of compact
	prioFixed bool // a PRIORITY_UPDATE set prio: the request's priority field does not count
	prio      codec.Priority
	activeAt  int64 // Conn.now (UnixNano) of the last frame either way, for StreamIdleTimeout
}

// Conn is one HTTP/2 server connection.
//
// Its fields are ordered by size (pointers, 8-byte, 4-byte, then 1-byte
// fields) so that none is padded: an idle connection is this struct, its
// HPACK contexts and nothing else, and thousands of them stay in memory.
// Rarely used state (a scratch block for discarded field blocks) is taken
// from a pool while in use.
type Conn struct {
	// immutable after Init
	cfg *Config
	cb  Callbacks
	m   *Metrics

	// state, owned by the caller holding the connection lock
	out      []byte
	streams  *streamtable.Table[stream] // idleTable while no stream is open
	set      *streamSet                 // the pooled table and queue, nil while idle
	outp     *outBuf                    // the pooled buffer behind out, nil while idle
	sendConn window.SendConn
	recvConn window.Recv
	buffered int64 // body bytes buffered by streams not yet dispatched
	unread   int64 // body bytes received for running handlers and not read yet

	// state few connections use, allocated on first use
	rare *connRare

	// settings and liveness, UnixNano. settingsSentAt is also the start of
	// the connection until the client's SETTINGS arrive.
	settingsSentAt int64
	lastActive     int64
	now            int64

	// abuse counters
	dataBytes uint64 // DATA payload bytes sent
	// Saturating: windowUpd and dataFrames stop at math.MaxUint32 (satu32),
	// the others at math.MaxInt32 (bump). The limits they are held against
	// end a connection long before; past 2^32 DATA frames the WINDOW_UPDATE
	// ratio only stops getting looser.
	windowUpd   uint32 // WINDOW_UPDATE frames received
	dataFrames  uint32 // DATA frames sent
	ctrlQueued  int32  // control frames produced since the last TakeOutput
	resets      int32  // resets of active streams (the client's, or provoked by it) in the current second
	useless     int32  // frames that do no work
	rejectedHdr int32  // header sections above MaxHeaderListSize, decaying per request
	contFrames  int32  // frames of the field block in progress

	peerMaxFrm   uint32
	peerMaxHdr   uint32
	lastClientID uint32 // highest stream id the client opened
	skipLo       uint32 // the last range of client stream ids skipped (never opened)
	skipHi       uint32
	contStream   uint32
	// server push: the client's SETTINGS_MAX_CONCURRENT_STREAMS (our
	// promises are in the rare state)
	peerMaxStreams uint32
	goAwayLast     uint32 // the last stream id of the final GOAWAY

	state       connState
	contEnd     bool
	contDiscard bool
	// the bits of the non-empty send queues, one per urgency (prio.go,
	// in the stream set)
	rmask        uint8
	peerPush     bool // the client's SETTINGS_ENABLE_PUSH
	settingsIn   bool // the client's first SETTINGS frame was processed
	awaitingAck  bool
	active       bool
	goAwaySent   bool // final GOAWAY sent
	shutdownPing bool // first GOAWAY of a graceful shutdown sent, PING outstanding
	peerGoAway   bool
	altSvcDone   bool // Config.AltSvc sent, or not to be sent
	peerNo7540   bool // the client's SETTINGS_NO_RFC7540_PRIORITIES (0 or 1, the codec checks)
	closeKind    uint8

	// the HPACK contexts, kept inline: one allocation per connection
	decv codec.HeaderDecoder
	encv codec.HeaderEncoder
}

// connRare is the state of a Conn that few connections ever use: it is
// allocated when first needed and kept.
type connRare struct {
	// recent remembers the streams we reset last (pools.go), nil until
	// the first reset and on a connection idle for a tick.
	recent *recentStreams
	// pooled, for header blocks we decode only to keep HPACK in sync;
	// nil otherwise
	scratch *codec.HeaderBlock
	// when the field block continued in CONTINUATION frames started
	// (UnixNano; while contStream != 0)
	contStart int64
	// server push: the highest stream id promised, and the pushed
	// streams open
	lastPushID uint32
	pushActive uint32
	// RFC 9218: PRIORITY_UPDATEs for streams not open yet
	prioIdle []prioUpdate
	// reported when a discarded field block continued in CONTINUATION
	// frames ends
	pendingErr error
	// why the connection closed, when not one of closeKind's own reasons
	closeErr error
}

// lastPushed is the highest stream id promised (0: none).
func (c *Conn) lastPushed() uint32 {
	if c.rare == nil {
		return 0
	}
	return c.rare.lastPushID
}

// rareState returns c's rarely used state, allocating it.
func (c *Conn) rareState() *connRare {
	if c.rare == nil {
		c.rare = new(connRare)
	}
	return c.rare
}

// shutdownPingData marks the PING of a graceful shutdown.
var shutdownPingData = [8]byte{'h', '2', 'l', 'o', 'o', 'p', 'g', 'a'}

// NewConn returns a connection in its initial state; it appends the server
// preface (our SETTINGS and a connection WINDOW_UPDATE) to the output at once.
// cfg must have been normalised and outlives the Conn; m may be nil.
func NewConn(cfg *Config, cb Callbacks, m *Metrics, now time.Time) *Conn {
	c := new(Conn)
	c.Init(cfg, cb, m, now)
	return c
}

// Init is NewConn for a Conn the caller allocated, as a part of a larger
// connection object (one allocation per connection). c must be zero, and
// must not be copied or moved afterwards.
func (c *Conn) Init(cfg *Config, cb Callbacks, m *Metrics, now time.Time) {
	if m == nil {
		m = new(Metrics)
	}
	t := now.UnixNano()
	*c = Conn{
		cfg:        cfg,
		cb:         cb,
		m:          m,
		streams:    idleTable,
		sendConn:   window.NewSendConn(codec.DefaultInitialWindowSize),
		recvConn:   window.NewRecv(cfg.InitialConnWindow),
		peerMaxFrm: codec.DefaultMaxFrameSize,
		// "The initial value [of SETTINGS_ENABLE_PUSH] is 1" and
		// SETTINGS_MAX_CONCURRENT_STREAMS is unlimited until set (§6.5.2).
		peerPush:       true,
		peerMaxStreams: 1<<32 - 1,
		lastActive:     t,
		now:            t,
	}
	// Until the client acknowledges our SETTINGS it may use the default
	// 4096-byte table (§6.5.3); a smaller limit applies from the ACK.
	c.decv.Init(max(cfg.HeaderTableSize, codec.DefaultHeaderTableSize), cfg.MaxHeaderListSize)
	c.encv.Init()
	c.begin()
	settings := [...]codec.Setting{
		{ID: codec.SettingMaxConcurrentStreams, Value: cfg.MaxConcurrentStreams},
		{ID: codec.SettingInitialWindowSize, Value: cfg.InitialStreamWindow},
		{ID: codec.SettingMaxFrameSize, Value: cfg.MaxFrameSize},
		{ID: codec.SettingMaxHeaderListSize, Value: cfg.MaxHeaderListSize},
		{ID: codec.SettingHeaderTableSize, Value: cfg.HeaderTableSize},
		// "Senders MUST NOT send a SETTINGS_NO_RFC7540_PRIORITIES value of
		// 1 ... unless they use a prioritization scheme other than RFC
		// 7540's" (RFC 9218 §2.1): we use RFC 9218's.
		{ID: codec.SettingNoRFC7540Priorities, Value: 1},
		{ID: codec.SettingEnableConnectProtocol, Value: 1}, // RFC 8441 §3, when enabled
	}
	n := len(settings) - 1
	if cfg.EnableConnectProtocol {
		n++
	}
	c.out = codec.AppendSettings(c.out, settings[:n]...)
	if cfg.InitialConnWindow > codec.DefaultInitialWindowSize {
		c.out = codec.AppendWindowUpdate(c.out, 0, cfg.InitialConnWindow-codec.DefaultInitialWindowSize)
	}
	c.settingsSentAt = t
	c.awaitingAck = true
	c.m.inc(&c.m.Conns)
}

// Output returns the bytes produced so far. The transport writes them and
// then calls ConsumeOutput; the slice is valid until the next call into c.
// Payloads held by reference (outvec.go) are copied in first: a transport
// that writes segments uses OutputSegments instead.
func (c *Conn) Output() []byte {
	if c.outp != nil && c.outp.refBytes > 0 {
		c.flattenOutput()
	}
	return c.out
}

// ConsumeOutput drops the first n bytes of output once they are written.
func (c *Conn) ConsumeOutput(n int) {
	c.notePeakOut()
	if n >= c.OutputLen() {
		c.ctrlQueued = 0
		c.releaseOut()
		return
	}
	if c.refBytes() > 0 {
		c.consumeRefs(n)
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
}

// Closed reports whether the connection is finished: the transport should
// write the remaining output and close the socket.
func (c *Conn) Closed() bool { return c.state == stateClosed }

// Err is the reason the connection closed, nil while it is open or after a
// clean shutdown.
func (c *Conn) Err() error {
	switch c.closeKind {
	case closedAborted:
		return errClosed
	case closedTimeout:
		return errTimeout
	case closedOther:
		return c.rare.closeErr
	}
	return nil
}

// Why a connection closed (Err): the common reasons are a code, any other
// error is kept in the rare state.
const (
	closedClean uint8 = iota
	closedAborted
	closedTimeout
	closedOther
)

func (c *Conn) setCloseReason(err error) {
	switch err {
	case nil:
		c.closeKind = closedClean
	case errClosed:
		c.closeKind = closedAborted
	case errTimeout:
		c.closeKind = closedTimeout
	default:
		c.rareState().closeErr = err
		c.closeKind = closedOther
	}
}

// ActiveStreams is the number of open or half-closed streams.
func (c *Conn) ActiveStreams() int { return c.streams.Len() }

// Need returns how many buffered input bytes the next Feed needs to make
// progress (the rest of the preface, a frame header, or a whole frame).
func (c *Conn) Need(buffered []byte) int {
	if c.state == statePreface {
		return len(codec.ClientPreface)
	}
	if len(buffered) < codec.FrameHeaderLen {
		return codec.FrameHeaderLen
	}
	h := codec.ParseFrameHeader(buffered)
	return codec.FrameHeaderLen + int(h.Length)
}

var (
	errBadPreface = errors.New("h2: invalid connection preface")
	errClosed     = errors.New("h2: connection closed")
)

// Feed processes the complete frames at the start of in and returns how many
// bytes it consumed; a partial frame at the end is left for the next call.
// A non-nil error means the connection is finished (a GOAWAY may be in the
// output): write the output, then close.
func (c *Conn) Feed(in []byte) (int, error) {
	n, err := c.feed(in)
	if c.set != nil && len(c.set.lazy) > 0 {
		c.dispatchLazy()
	}
	return n, err
}

func (c *Conn) feed(in []byte) (int, error) {
	if c.state == stateClosed {
		return 0, errClosed
	}
	c.begin()
	c.active = true
	off := 0
	if c.state == statePreface {
		n := len(in)
		if n > len(codec.ClientPreface) {
			n = len(codec.ClientPreface)
		}
		if string(in[:n]) != codec.ClientPreface[:n] {
			// "Clients and servers MUST treat an invalid connection preface as
			// a connection error of type PROTOCOL_ERROR" (RFC 9113 §3.4).
			c.m.inc(&c.m.ProtocolErrors)
			return 0, c.connError(codec.ErrCodeProtocol, "invalid connection preface", errBadPreface)
		}
		if n < len(codec.ClientPreface) {
			return 0, nil
		}
		off = n
		c.state = stateSettings
	}
	for c.state != stateClosed {
		rest := in[off:]
		if len(rest) < codec.FrameHeaderLen {
			break
		}
		h := codec.ParseFrameHeader(rest)
		if h.Length > c.cfg.MaxFrameSize {
			c.m.inc(&c.m.ProtocolErrors)
			return off, c.fail(codec.ErrFrameTooLarge)
		}
		end := codec.FrameHeaderLen + int(h.Length)
		if len(rest) < end {
			break
		}
		off += end
		if err := c.frame(h, rest[codec.FrameHeaderLen:end]); err != nil {
			return off, err
		}
	}
	if c.state == stateClosed {
		return off, errClosed
	}
	return off, nil
}

// fail turns an error from frame processing into the connection's answer:
// RST_STREAM for a stream error, GOAWAY for a connection error.
func (c *Conn) fail(err error) error {
	var se *codec.StreamError
	if errors.As(err, &se) {
		if st := c.streams.Get(se.StreamID); st != nil && !st.respDone {
			// MadeYouReset (CVE-2025-8671): a stream error the client
			// provokes on a live stream costs what its own reset does.
			if cerr := c.countReset(); cerr != nil {
				return c.fail(cerr)
			}
		}
		c.resetStream(se.StreamID, se.Code, se.Reason)
		return nil
	}
	var ce *codec.ConnError
	if errors.As(err, &ce) {
		c.m.inc(&c.m.ConnErrors)
		return c.connError(ce.Code, ce.Reason, err)
	}
	c.m.inc(&c.m.ConnErrors)
	return c.connError(codec.ErrCodeInternal, err.Error(), err)
}

// connError sends GOAWAY with code and closes the connection.
func (c *Conn) connError(code codec.ErrCode, reason string, err error) error {
	if c.state == stateClosed {
		return errClosed
	}
	c.cfg.logf("h2: connection error %v: %s", code, reason)
	if c.state != statePreface || code != codec.ErrCodeProtocol || err != errBadPreface {
		c.out = codec.AppendGoAway(c.out, c.lastClientID, code, []byte(reason))
	}
	c.setCloseReason(err)
	c.goAwaySent = true
	c.abortAll(codec.ErrCodeCancel)
	c.state = stateClosed
	return err
}

func (c *Conn) frame(h codec.FrameHeader, p []byte) error {
	if c.m != nil {
		c.m.Frames.Add(1)
	}
	// "A receiver MUST treat the receipt of any other type of frame or a frame
	// on a different stream as a connection error of type PROTOCOL_ERROR"
	// (§6.2, about frames between HEADERS and its CONTINUATION frames).
	if c.contStream != 0 && (h.Type != codec.FrameContinuation || h.StreamID != c.contStream) {
		c.m.inc(&c.m.ProtocolErrors)
		return c.connError(codec.ErrCodeProtocol, "frame interleaved in a field block", errProto)
	}
	if c.state == stateSettings {
		// "The client connection preface ... MUST be followed by a SETTINGS
		// frame" (§3.4).
		if h.Type != codec.FrameSettings || h.Flags.Has(codec.FlagAck) {
			c.m.inc(&c.m.ProtocolErrors)
			return c.connError(codec.ErrCodeProtocol, "preface not followed by SETTINGS", errProto)
		}
		c.state = stateOpen
	}
	var err error
	switch h.Type {
	case codec.FrameData:
		err = c.onData(h, p)
	case codec.FrameHeaders:
		err = c.onHeaders(h, p)
	case codec.FramePriority:
		err = c.onPriority(h, p)
	case codec.FrameRSTStream:
		err = c.onRSTStream(h, p)
	case codec.FrameSettings:
		err = c.onSettings(h, p)
	case codec.FramePushPromise:
		// "A client cannot push. Thus, servers MUST treat the receipt of a
		// PUSH_PROMISE frame as a connection error of type PROTOCOL_ERROR" (§8.4).
		err = codec.ErrPushPromiseFromClient
	case codec.FramePing:
		err = c.onPing(h, p)
	case codec.FrameGoAway:
		err = c.onGoAway(h, p)
	case codec.FrameWindowUpdate:
		err = c.onWindowUpdate(h, p)
	case codec.FrameContinuation:
		err = c.onContinuation(h, p)
	case codec.FramePriorityUpdate:
		err = c.onPriorityUpdate(h, p)
	default:
		// "Implementations MUST ignore and discard frames of unknown types" (§5.5).
		err = c.uselessFrame()
	}
	if err != nil {
		return c.fail(err)
	}
	return nil
}

var errProto = errors.New("h2: protocol error")

func (c *Conn) uselessFrame() error {
	if bump(&c.useless) > c.cfg.MaxUselessFrames {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many frames that do no work")
	}
	return nil
}

// bump counts one more on an abuse counter and returns the count. It stops
// at math.MaxInt32: a limit set above that is never crossed.
func bump(n *int32) int {
	if *n < math.MaxInt32 {
		*n++
	}
	return int(*n)
}

// satu32 counts one more on *n, up to math.MaxUint32.
func satu32(n *uint32) {
	if *n < math.MaxUint32 {
		*n++
	}
}

func errCalm(reason string) error {
	return &codec.ConnError{Code: codec.ErrCodeEnhanceYourCalm, Reason: reason}
}

// control counts a control frame produced in answer to the peer.
func (c *Conn) control() error {
	if bump(&c.ctrlQueued) > c.cfg.MaxQueuedControlFrames {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many queued control frames")
	}
	return nil
}

// isIdle reports whether id names a stream not opened yet: by the client
// (odd ids), or promised by us (even ids).
func (c *Conn) isIdle(id uint32) bool {
	if id%2 == 0 {
		return id > c.lastPushed()
	}
	return id > c.lastClientID
}

func (c *Conn) onPriority(h codec.FrameHeader, p []byte) error {
	pp, err := codec.ParsePriority(h, p)
	if err != nil {
		return err
	}
	// "A stream cannot depend on itself. An endpoint MUST treat this as a
	// stream error of type PROTOCOL_ERROR" (§5.3.1).
	if pp.StreamDep == h.StreamID {
		return &codec.StreamError{StreamID: h.StreamID, Code: codec.ErrCodeProtocol, Reason: "stream depends on itself"}
	}
	// Priority signals are accepted in any state and otherwise ignored (§5.3.2).
	return c.uselessFrame()
}

func (c *Conn) onRSTStream(h codec.FrameHeader, p []byte) error {
	code, err := codec.ParseRSTStream(h, p)
	if err != nil {
		return err
	}
	st := c.streams.Get(h.StreamID)
	if st == nil {
		if c.isIdle(h.StreamID) {
			// idle: "Receiving any frame other than HEADERS or PRIORITY on a
			// stream in this state MUST be treated as a connection error of
			// type PROTOCOL_ERROR" (§5.1).
			return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "RST_STREAM on an idle stream"}
		}
		return c.uselessFrame()
	}
	c.m.inc(&c.m.ResetsReceived)
	if !st.respDone && st.id%2 == 1 { // a client declining a push is no abuse
		if err := c.countReset(); err != nil {
			return err
		}
	}
	st.respDone = true
	c.closeStream(st, true, code)
	return nil
}

// countReset counts a reset of an active stream, by the client or provoked
// by it, against MaxResetsPerSecond (with a burst of twice the rate).
func (c *Conn) countReset() error {
	if bump(&c.resets) > 2*c.cfg.MaxResetsPerSecond {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many stream resets")
	}
	return nil
}

func (c *Conn) onSettings(h codec.FrameHeader, p []byte) error {
	sf, err := codec.ParseSettings(h, p)
	if err != nil {
		return err
	}
	if sf.Ack {
		if c.awaitingAck && c.cfg.HeaderTableSize < codec.DefaultHeaderTableSize {
			c.decv.SetMaxDynamicTableSize(c.cfg.HeaderTableSize)
		}
		c.awaitingAck = false
		return nil
	}
	grew := false
	for i, n := 0, sf.Len(); i < n; i++ {
		s := sf.At(i)
		switch s.ID {
		case codec.SettingHeaderTableSize:
			v := s.Value
			if v > codec.DefaultHeaderTableSize {
				v = codec.DefaultHeaderTableSize // our encoder never needs more
			}
			c.encv.SetPeerMaxDynamicTableSize(v)
		case codec.SettingInitialWindowSize:
			if err := c.sendConn.SetInitialStreamWindow(s.Value); err != nil {
				// "An endpoint MUST treat a change to SETTINGS_INITIAL_WINDOW_SIZE
				// that causes any flow-control window to exceed the maximum size
				// as a connection error of type FLOW_CONTROL_ERROR" (§6.9.2).
				return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window"}
			}
			grew = true
		case codec.SettingMaxFrameSize:
			c.peerMaxFrm = s.Value
		case codec.SettingMaxHeaderListSize:
			c.peerMaxHdr = s.Value
		case codec.SettingEnablePush:
			c.peerPush = s.Value == 1
		case codec.SettingMaxConcurrentStreams:
			c.peerMaxStreams = s.Value
		case codec.SettingNoRFC7540Priorities:
			// "A sender MUST NOT change the SETTINGS_NO_RFC7540_PRIORITIES
			// value after the first SETTINGS frame. Receivers that detect a
			// change MAY treat it as a connection error of type
			// PROTOCOL_ERROR" (RFC 9218 §2.1).
			if c.settingsIn && (s.Value == 1) != c.peerNo7540 {
				return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "SETTINGS_NO_RFC7540_PRIORITIES changed"}
			}
			c.peerNo7540 = s.Value == 1
		}
	}
	c.settingsIn = true
	// "Once all values have been processed, the recipient MUST immediately
	// emit a SETTINGS frame with the ACK flag set" (§6.5.3).
	c.out = codec.AppendSettingsAck(c.out)
	if err := c.control(); err != nil {
		return err
	}
	if grew {
		c.requeueAll()
	}
	return nil
}

func (c *Conn) onPing(h codec.FrameHeader, p []byte) error {
	data, err := codec.ParsePing(h, p)
	if err != nil {
		return err
	}
	if h.Flags.Has(codec.FlagAck) {
		if c.shutdownPing && data == shutdownPingData {
			c.finalGoAway()
		}
		return nil
	}
	// "Receivers of a PING frame that does not include an ACK flag MUST send a
	// PING frame with the ACK flag set in response, with an identical frame
	// payload" (§6.7).
	c.out = codec.AppendPing(c.out, true, data)
	return c.control()
}

func (c *Conn) onGoAway(h codec.FrameHeader, p []byte) error {
	ga, err := codec.ParseGoAway(h, p)
	if err != nil {
		return err
	}
	c.peerGoAway = true
	if ga.Code != codec.ErrCodeNo {
		c.cfg.logf("h2: client sent GOAWAY %v", ga.Code)
	}
	c.maybeFinish()
	return nil
}

func (c *Conn) onWindowUpdate(h codec.FrameHeader, p []byte) error {
	incr, err := codec.ParseWindowUpdate(h, p)
	if err != nil {
		if _, ok := err.(*codec.StreamError); ok && c.streams.Get(h.StreamID) == nil {
			// A zero increment on a stream that is not open: the idle rule
			// (a connection error) comes first, and "RST_STREAM frames MUST
			// NOT be sent for a stream in the "idle" state" (§6.4); on a
			// closed stream the frame is discarded (§5.1).
			if c.isIdle(h.StreamID) {
				return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "WINDOW_UPDATE on an idle stream"}
			}
			return c.uselessFrame()
		}
		return err
	}
	// WINDOW_UPDATE returns credit for DATA we sent: a client that sends far
	// more of them than our DATA explains is flooding (each costs a lookup
	// and a scheduling round and needs no answer, so no other limit sees it).
	satu32(&c.windowUpd)
	if uint64(c.windowUpd) > 100+uint64(c.cfg.MaxWindowUpdatesPerDataFrame)*uint64(c.dataFrames)+c.dataBytes>>10 {
		c.m.inc(&c.m.FloodErrors)
		return errCalm("too many WINDOW_UPDATE frames")
	}
	if h.StreamID == 0 {
		if err := c.sendConn.AddConn(incr); err != nil {
			// "If a sender receives a WINDOW_UPDATE that causes a flow-control
			// window to exceed this maximum, it MUST terminate either the stream
			// or the connection, as appropriate" (§6.9.1).
			return &codec.ConnError{Code: codec.ErrCodeFlowControl, Reason: "connection window above 2^31-1"}
		}
		c.writeData()
		return nil
	}
	st := c.streams.Get(h.StreamID)
	if st == nil {
		if c.isIdle(h.StreamID) {
			return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "WINDOW_UPDATE on an idle stream"}
		}
		return c.uselessFrame()
	}
	if err := c.sendConn.AddStream(&st.send, incr); err != nil {
		return &codec.StreamError{StreamID: h.StreamID, Code: codec.ErrCodeFlowControl, Reason: "stream window above 2^31-1"}
	}
	if st.req != nil && st.req.sendable() {
		c.enqueue(st)
		c.writeData()
	}
	return nil
}

// Tick runs the connection's timers; the transport calls it about once a
// second. It returns a non-nil error when the connection must close.
func (c *Conn) Tick(now time.Time) error {
	c.begin()
	t := now.UnixNano()
	c.now = t
	c.resets = 0
	if c.active {
		c.lastActive = t
		c.active = false
	} else if c.streams.Len() == 0 {
		c.releaseRecent() // idle for a whole tick
	}
	if c.state == stateClosed {
		return errClosed
	}
	if c.state != stateOpen && t-c.settingsSentAt > int64(c.cfg.SettingsTimeout) {
		c.m.inc(&c.m.Timeouts)
		if c.state == statePreface {
			c.state = stateClosed
			c.closeKind = closedTimeout
			return errTimeout
		}
		return c.connError(codec.ErrCodeSettingsTimeout, "no SETTINGS from the client", errTimeout)
	}
	// "If the sender of a SETTINGS frame does not receive an acknowledgment
	// within a reasonable amount of time, it MAY issue a connection error of
	// type SETTINGS_TIMEOUT" (§6.5.3).
	if c.awaitingAck && t-c.settingsSentAt > int64(c.cfg.SettingsTimeout) {
		c.m.inc(&c.m.Timeouts)
		return c.connError(codec.ErrCodeSettingsTimeout, "SETTINGS not acknowledged", errTimeout)
	}
	if c.contStream != 0 && t-c.rare.contStart > int64(c.cfg.HeaderTimeout) {
		c.m.inc(&c.m.Timeouts)
		return c.connError(codec.ErrCodeEnhanceYourCalm, "header block not completed in time", errTimeout)
	}
	if c.cfg.IdleTimeout > 0 && c.streams.Len() == 0 && t-c.lastActive > int64(c.cfg.IdleTimeout) {
		c.m.inc(&c.m.Timeouts)
		c.out = codec.AppendGoAway(c.out, c.lastClientID, codec.ErrCodeNo, nil)
		c.goAwaySent = true
		c.state = stateClosed
		return errIdle
	}
	if c.shutdownPing && t-c.settingsSentAt > int64(c.cfg.SettingsTimeout) {
		c.finalGoAway() // the client never answered the shutdown PING
	}
	if c.cfg.StreamIdleTimeout > 0 && c.streams.Len() > 0 {
		c.expireIdleStreams(now)
	}
	return nil
}

// expireIdleStreams ends streams that saw no frame either way for
// StreamIdleTimeout (up to 16 a tick) while waiting on the client: for the
// rest of its request, or for window to send response bytes already
// written (a client that stops granting window would otherwise hold the
// stream, its handler and its buffered response for as long as it keeps
// the connection).
func (c *Conn) expireIdleStreams(now time.Time) {
	limit := now.UnixNano() - int64(c.cfg.StreamIdleTimeout)
	var ids [16]uint32
	n := 0
	c.streams.Range(func(id uint32, st *stream) bool {
		if st.activeAt < limit && (arriving(st) || c.windowStalled(st)) {
			ids[n] = id
			n++
		}
		return n < len(ids)
	})
	for _, id := range ids[:n] {
		st := c.streams.Get(id)
		if st == nil || c.state == stateClosed {
			continue
		}
		c.m.inc(&c.m.Timeouts)
		if arriving(st) {
			c.cfg.logf("h2: stream %d: request still arriving, nothing either way for %v", id, c.cfg.StreamIdleTimeout)
			c.respondStatus(st, 408)
			continue
		}
		reason := "response blocked by flow control, no WINDOW_UPDATE for " + c.cfg.StreamIdleTimeout.String()
		c.resetStream(id, codec.ErrCodeCancel, reason)
	}
}

// arriving reports whether st's request is still arriving.
func arriving(st *stream) bool { return st.state == stOpen || st.state == stHalfClosedLocal }

// windowStalled reports whether st has response bytes to send that the
// client's windows (the stream's or the connection's) hold back.
func (c *Conn) windowStalled(st *stream) bool {
	return !st.respDone && st.req != nil && st.req.sendable() &&
		(c.sendConn.StreamAvailable(&st.send) <= 0 || c.sendConn.ConnAvailable() <= 0)
}

// touch records a frame on st, for StreamIdleTimeout.
func (c *Conn) touch(st *stream) { st.activeAt = c.now }

var (
	errTimeout = errors.New("h2: timeout")
	errIdle    = errors.New("h2: idle timeout")
)

// Shutdown starts a graceful shutdown: "A server that is attempting to
// gracefully shut down a connection SHOULD send an initial GOAWAY frame with
// the last stream identifier set to 2^31-1 and a NO_ERROR code ... After
// allowing time for any in-flight stream creation (at least one round-trip
// time), the server MAY send another GOAWAY frame with an updated last stream
// identifier" (§6.8). The second GOAWAY goes out when our PING comes back.
func (c *Conn) Shutdown() {
	c.begin()
	if c.state == stateClosed || c.goAwaySent || c.shutdownPing {
		return
	}
	if c.state == statePreface {
		c.state = stateClosed
		return
	}
	c.out = codec.AppendGoAway(c.out, codec.MaxStreamID, codec.ErrCodeNo, nil)
	c.out = codec.AppendPing(c.out, false, shutdownPingData)
	c.shutdownPing = true
	c.settingsSentAt = c.now
}

func (c *Conn) finalGoAway() {
	c.shutdownPing = false
	if c.goAwaySent || c.state == stateClosed {
		return
	}
	c.out = codec.AppendGoAway(c.out, c.lastClientID, codec.ErrCodeNo, nil)
	c.goAwaySent = true
	c.goAwayLast = c.lastClientID
	c.maybeFinish()
}

// maybeFinish closes a connection that is going away once no stream is left.
// When the client sent the GOAWAY, none is sent back: every stream it
// opened is answered or reset, so ours would tell it nothing ("SHOULD
// always send a GOAWAY frame before closing", §6.8, is for a peer that
// may not know), and a client that closes right after its GOAWAY, as
// load generators do, would answer it with a TCP reset.
func (c *Conn) maybeFinish() {
	if (c.goAwaySent || c.peerGoAway) && c.streams.Len() == 0 && c.state != stateClosed {
		c.state = stateClosed
	}
}

// Calm ends the connection with GOAWAY(ENHANCE_YOUR_CALM) for an abuse the
// transport found (too much unprocessed input); the transport counts it.
func (c *Conn) Calm(reason string) {
	c.begin()
	c.m.inc(&c.m.ConnErrors)
	c.connError(codec.ErrCodeEnhanceYourCalm, reason, errCalm(reason))
}

// Abort ends the connection after the transport closed: every request is
// canceled. It is safe to call more than once.
func (c *Conn) Abort() {
	if c.state != stateClosed {
		c.state = stateClosed
		c.closeKind = closedAborted
	}
	c.abortAll(codec.ErrCodeCancel)
	c.releaseRecent()
}

func (c *Conn) abortAll(code codec.ErrCode) {
	if c.streams.Len() == 0 {
		return
	}
	var ids [64]uint32
	for c.streams.Len() > 0 {
		n := 0
		c.streams.Range(func(id uint32, _ *stream) bool {
			ids[n] = id
			n++
			return n < len(ids)
		})
		for _, id := range ids[:n] {
			if st := c.streams.Get(id); st != nil {
				st.respDone = true
				c.closeStream(st, true, code)
			}
		}
	}
}
