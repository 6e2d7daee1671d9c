package engine

import (
	"math/bits"

	"github.com/h2loop/h2loop/codec"
)

// Extensible priorities (RFC 9218). A stream's priority comes from the
// request's priority header field (§5), from PRIORITY_UPDATE frames (§7.1)
// and from the priority field of the response a handler sets (§5, "a
// server can ... override"). Response DATA is scheduled by it:
//
//   - "servers SHOULD ... send[] higher-urgency responses before
//     lower-urgency responses" (§10): one queue per urgency, the lowest
//     non-empty one served first;
//   - within an urgency, a non-incremental response is sent whole before
//     the next one starts (it goes back to the front of its queue while it
//     has data and window), in the order responses became ready;
//   - incremental responses share their urgency round-robin, a frame each.
//
// RFC 7540 priority signals (the PRIORITY frame, the HEADERS priority
// block) are accepted and ignored (RFC 9113 §5.3.2); we send
// SETTINGS_NO_RFC7540_PRIORITIES = 1 (RFC 9218 §2.1).

// ring is a FIFO of stream ids with room at both ends.
type ring struct {
	buf  []uint32
	head int
	n    int
}

func (q *ring) pushBack(id uint32) {
	q.buf[(q.head+q.n)%len(q.buf)] = id
	q.n++
}

func (q *ring) pushFront(id uint32) {
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = id
	q.n++
}

func (q *ring) pop() uint32 {
	id := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return id
}

// ringFor returns the queue of urgency u. The queues live in the pooled
// stream set (an idle connection holds none); the default urgency's buffer
// is made with the set, the others on first use.
func (c *Conn) ringFor(u uint8) *ring {
	q := &c.set.rq[u]
	if q.buf == nil {
		q.buf = make([]uint32, len(c.set.rq[codec.DefaultPriority.Urgency].buf))
		q.head, q.n = 0, 0
	}
	if q.n == len(q.buf) {
		c.compact(q, u)
	}
	return q
}

// compact drops the ids of streams that closed, left the queue or moved
// to another urgency since they were queued, so a full queue has room
// again (every live entry is a distinct queued stream of urgency u, at
// most MaxConcurrentStreams of them).
func (c *Conn) compact(q *ring, u uint8) {
	k := 0
	for i := 0; i < q.n; i++ {
		id := q.buf[(q.head+i)%len(q.buf)]
		if st := c.streams.Get(id); st != nil && st.queued && !st.inQueue && st.prio.Urgency == u {
			st.inQueue = true // first occurrence: kept
			q.buf[k] = id
			k++
		}
	}
	for i := 0; i < k; i++ {
		if st := c.streams.Get(q.buf[i]); st != nil {
			st.inQueue = false
		}
	}
	q.head, q.n = 0, k
}

// enqueue queues st for DATA, at the back of its urgency's queue.
func (c *Conn) enqueue(st *stream) {
	if st.queued {
		return
	}
	st.queued = true
	u := st.prio.Urgency
	c.ringFor(u).pushBack(st.id)
	c.rmask |= 1 << u
}

// requeue puts st back after one of its frames went out: at the front of
// its queue if it is non-incremental (sent whole, one after another), at
// the back if incremental (interleaved).
func (c *Conn) requeue(st *stream) {
	st.queued = true
	u := st.prio.Urgency
	q := c.ringFor(u)
	if st.prio.Incremental {
		q.pushBack(st.id)
	} else {
		q.pushFront(st.id)
	}
	c.rmask |= 1 << u
}

// dequeue pops the next stream id of the most urgent non-empty queue.
func (c *Conn) dequeue() (uint32, uint8) {
	u := uint8(bits.TrailingZeros8(c.rmask))
	q := &c.set.rq[u]
	id := q.pop()
	if q.n == 0 {
		c.rmask &^= 1 << u
	}
	return id, u
}

// resetQueues empties every queue of set (taken from or given back to the
// pool).
func (c *Conn) resetQueues(set *streamSet) {
	for u := range set.rq {
		set.rq[u].head, set.rq[u].n = 0, 0
	}
	set.lazy = set.lazy[:0]
	c.rmask = 0
}

// setPriority changes st's priority. A queued stream joins the back of
// its new urgency's queue at once; its entry in the old one is skipped
// when it comes up (dequeue checks the urgency).
func (c *Conn) setPriority(st *stream, p codec.Priority) {
	old := st.prio.Urgency
	st.prio = p
	if st.queued && p.Urgency != old {
		c.ringFor(p.Urgency).pushBack(st.id)
		c.rmask |= 1 << p.Urgency
	}
}

// prioUpdate is a PRIORITY_UPDATE for a stream the client has not opened.
type prioUpdate struct {
	id   uint32
	prio codec.Priority
}

// onPriorityUpdate handles a PRIORITY_UPDATE frame (RFC 9218 §7.1).
func (c *Conn) onPriorityUpdate(h codec.FrameHeader, p []byte) error {
	pu, err := codec.ParsePriorityUpdate(h, p)
	if err != nil {
		return err
	}
	if err := c.uselessFrame(); err != nil {
		return err // a flood of them: each costs a parse and does no request's work
	}
	if pu.StreamID%2 == 0 {
		// A push stream: "Clients MUST NOT provide a Prioritized Stream ID
		// that refers to a push stream in the "idle" state. Servers that
		// receive a PRIORITY_UPDATE for a push stream in the "idle" state
		// MUST respond with a connection error of type PROTOCOL_ERROR."
		if st := c.streams.Get(pu.StreamID); st != nil {
			c.setPriority(st, codec.ParsePriorityField(st.prio, pu.Value))
			return nil
		}
		if pu.StreamID > c.lastPushed() {
			return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "PRIORITY_UPDATE for an idle push stream"}
		}
		return nil // closed: "Servers can discard frames where the Prioritized Stream ID refers to a stream in the "closed" state"
	}
	if st := c.streams.Get(pu.StreamID); st != nil {
		c.setPriority(st, codec.ParsePriorityField(st.prio, pu.Value))
		st.prioFixed = true
		return nil
	}
	if !c.isIdle(pu.StreamID) {
		return nil // closed: discarded (§7.1)
	}
	// An idle stream: "the server SHOULD buffer the most recently received
	// PRIORITY_UPDATE frame and apply it once the referenced stream is
	// opened" (§7.1). "The number of streams that have been prioritized but
	// remain in the "idle" state plus the number of active streams ... MUST
	// NOT exceed the value of the SETTINGS_MAX_CONCURRENT_STREAMS
	// parameter. Servers that receive such a PRIORITY_UPDATE MUST respond
	// with a connection error of type PROTOCOL_ERROR."
	prio := codec.ParsePriorityField(codec.DefaultPriority, pu.Value)
	rare := c.rareState()
	for i := range rare.prioIdle {
		if rare.prioIdle[i].id == pu.StreamID {
			rare.prioIdle[i].prio = prio
			return nil
		}
	}
	if uint32(len(rare.prioIdle)+c.streams.Len()) >= c.cfg.MaxConcurrentStreams {
		return &codec.ConnError{Code: codec.ErrCodeProtocol, Reason: "PRIORITY_UPDATE for more idle streams than SETTINGS_MAX_CONCURRENT_STREAMS allows"}
	}
	rare.prioIdle = append(rare.prioIdle, prioUpdate{pu.StreamID, prio})
	return nil
}

// openPriority sets the priority of a stream the client just opened with
// request header section hdr: a buffered PRIORITY_UPDATE wins over the
// priority header field (RFC 9218 §7.1: the frame is the later signal).
func (c *Conn) openPriority(st *stream, hdr *codec.HeaderBlock) {
	st.prio = codec.DefaultPriority
	st.prioFixed = false
	if rare := c.rare; rare != nil && len(rare.prioIdle) > 0 {
		for i := range rare.prioIdle {
			if rare.prioIdle[i].id == st.id {
				st.prio = rare.prioIdle[i].prio
				st.prioFixed = true
				rare.prioIdle[i] = rare.prioIdle[len(rare.prioIdle)-1]
				rare.prioIdle = rare.prioIdle[:len(rare.prioIdle)-1]
				break
			}
		}
		// Updates for streams the client skipped can never apply.
		kept := rare.prioIdle[:0]
		for _, u := range rare.prioIdle {
			if u.id > st.id {
				kept = append(kept, u)
			}
		}
		rare.prioIdle = kept
	}
	if !st.prioFixed {
		if v, ok := hdr.Get("priority"); ok {
			st.prio = codec.ParsePriorityField(codec.DefaultPriority, v)
		}
	}
	if st.req != nil {
		st.req.Priority = st.prio
	}
}

// respPriority applies the priority field of a response (RFC 9218 §5): the
// handler's choice overrides the client's signals for the scheduling.
func (c *Conn) respPriority(st *stream, value []byte, s string) {
	if value != nil {
		c.setPriority(st, codec.ParsePriorityField(codec.DefaultPriority, value))
	} else {
		c.setPriority(st, codec.ParsePriorityField(codec.DefaultPriority, s))
	}
}
