package window

// Recv is one receive-side window (the connection's or one stream's) plus the
// policy that decides when to announce released space with WINDOW_UPDATE.
//
// It tracks four quantities, with target = available + held + pending:
//
//	target    the window size we want the peer to see once everything is released
//	available what the peer may still send (its view of the window)
//	held      octets received and not yet released by the application
//	pending   octets released and not yet announced (negative while a
//	          SetTarget shrink is paid off out of later releases)
//
// RFC 9113 §6.9.1: "The receiver of a frame sends a WINDOW_UPDATE frame as it
// consumes data and frees up space in flow-control windows. Separate
// WINDOW_UPDATE frames are sent for the stream- and connection-level
// flow-control windows. Receivers are advised to have mechanisms in place to
// avoid sending WINDOW_UPDATE frames with very small increments". The
// mechanism here: an update is sent once pending reaches target*frac/256
// (frac 128, half the window, unless SetThreshold changes it). RFC 9113
// §5.2.1 leaves the choice to us: "This document does not stipulate how a
// receiver decides when to send this frame or the value that it sends".
//
// The zero value is a window of size 0; use NewRecv. All methods are O(1),
// allocate nothing, and must be called by one goroutine at a time.
type Recv struct {
	// all owned by the caller holding the connection
	target  int64 // 0..MaxWindow
	avail   int64 // 0..target
	held    int64 // >= 0
	pending int64 // == target - avail - held
	frac    uint8 // update threshold numerator over 256
}

// DefaultThreshold is the default SetThreshold fraction (128/256: an update
// goes out once half the window has been released).
const DefaultThreshold = 128

// NewRecv returns a receive window of size octets, as the peer assumes it
// before any WINDOW_UPDATE: InitialWindow for the connection, our
// SETTINGS_INITIAL_WINDOW_SIZE for a stream. Sizes above MaxWindow are
// clamped. To grant the connection more than 65,535 octets, call SetTarget
// and send the increment it returns.
func NewRecv(size uint32) Recv {
	s := int64(min(size, MaxWindow))
	return Recv{target: s, avail: s, frac: DefaultThreshold}
}

// Consume accounts for a received DATA frame's whole flow-controlled length n
// (payload plus Pad Length and padding; the 9-octet header is not counted).
// It returns ErrExceeded, and changes nothing, if n is more than Available:
// the peer broke the window and the caller answers FLOW_CONTROL_ERROR.
//
// RFC 9113 §6.9.1: "The sender MUST NOT send a flow-controlled frame with a
// length that exceeds the space available in either of the flow-control
// windows advertised by the receiver." RFC 9113 §6.9: "A receiver that
// receives a flow-controlled frame MUST always account for its contribution
// against the connection flow-control window, unless the receiver treats this
// as a connection error (Section 5.4.1). This is necessary even if the frame
// is in error." So the caller consumes on the connection's Recv first, even
// for frames on closed or reset streams, then on the stream's Recv; octets a
// stream will never deliver to the application are released at once.
func (r *Recv) Consume(n uint32) error {
	if int64(n) > r.avail {
		return ErrExceeded
	}
	r.avail -= int64(n)
	r.held += int64(n)
	return nil
}

// Release records that the application consumed n received octets (n is
// capped at what was received and not yet released). It returns the
// WINDOW_UPDATE increment to send now, or 0 to keep batching. A returned
// increment is at most MaxWindow and never takes the peer's window above the
// target, so it cannot provoke the peer's §6.9.1 overflow error.
func (r *Recv) Release(n uint32) uint32 {
	m := min(int64(n), r.held)
	r.held -= m
	r.pending += m
	if r.pending > 0 && r.pending >= r.target*int64(r.frac)/256 {
		return r.flush()
	}
	return 0
}

// Available returns how many octets the peer may still send.
func (r *Recv) Available() int64 { return r.avail }

// Target returns the window size currently aimed for.
func (r *Recv) Target() uint32 { return uint32(r.target) }

// Pending returns the released octets not yet announced (negative while a
// shrink is being paid off).
func (r *Recv) Pending() int64 { return r.pending }

// SetTarget changes the window size we advertise (clamped to MaxWindow). When
// it grows, the growth plus anything pending is announced at once and
// returned as the increment to send. When it shrinks, it returns 0: a window
// cannot be taken back, so the difference is withheld from later releases.
func (r *Recv) SetTarget(size uint32) uint32 {
	s := int64(min(size, MaxWindow))
	grow := s > r.target
	r.pending += s - r.target
	r.target = s
	if grow && r.pending > 0 {
		return r.flush()
	}
	return 0
}

// SetThreshold sets the batching policy: an update is sent once the released
// but unannounced octets reach target*frac/256. 0 announces every release;
// DefaultThreshold (128) waits for half the window.
func (r *Recv) SetThreshold(frac uint8) { r.frac = frac }

// flush announces everything pending (> 0) and returns it as the increment.
func (r *Recv) flush() uint32 {
	inc := r.pending
	r.avail += inc
	r.pending = 0
	return uint32(inc)
}
