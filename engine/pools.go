package engine

import (
	"sync"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/streamtable"
)

// An idle connection (no open stream, nothing to write) holds neither a
// stream table nor an output buffer: both come from pools shared by the
// connections of one Config when the first stream opens or the first byte of
// output is produced, and go back when the last stream closes and the output
// is written. sync.Pool Get and Put do not allocate in steady state, so this
// costs nothing per request while keeping idle connections small.
//
// An output buffer grows to what one write needs (up to about WriteChunk
// for large responses). One that grew for a burst of large responses must
// not stay in the pool for ever once ordinary traffic resumes, where
// sync.Pool's reuse would keep it alive: a buffer above outBufSize that
// served outIdleUses writes in a row each needing less than a quarter of
// it is dropped when it comes back (the body buffers' pools calibrate
// instead, buffers.go: a request returns one buffer, a connection many of
// every size).

// streamSet is the per-connection state that exists only while streams are open.
type streamSet struct {
	table *streamtable.Table[stream]
	rq    [8]ring // stream ids with DATA waiting, one queue per urgency (prio.go)
	// lazy are the streams to dispatch at the end of the current Feed
	// (streaming requests): only a connection with a stream open has any.
	lazy []uint32
}

// connPools are the pools of one Config.
type connPools struct {
	sets    sync.Pool // *streamSet sized for Config.MaxConcurrentStreams
	outs    sync.Pool // *outBuf output buffers
	recents sync.Pool // *recentStreams, zeroed
}

// recentStreams remembers the streams we reset last, for the frames the
// client may still have in flight on them: "An endpoint MUST ignore frames that it receives on closed streams
// after it has sent a RST_STREAM frame. An endpoint MAY choose to limit the
// period over which it ignores frames and treat frames that arrive after
// this time as being in error" (RFC 9113 §5.1). A connection holds one
// from the first stream it resets until it has been idle (no stream open,
// no frame received) for a whole tick: most connections never hold one,
// an idle connection holds none, and one that resets streams remembers
// more of them than a fixed part of every connection could.
type recentStreams struct {
	reset idRing
}

// idRing holds the last stream ids added.
type idRing struct {
	ids  [32]uint32
	next uint32
}

func (r *idRing) add(id uint32) {
	r.ids[r.next%uint32(len(r.ids))] = id
	r.next++
}

func (r *idRing) has(id uint32) bool {
	for _, x := range r.ids {
		if x == id {
			return true
		}
	}
	return false
}

// recentStreams returns the connection's record of recent streams, taken
// from the pool on first use.
func (c *Conn) recentStreams() *recentStreams {
	rare := c.rareState()
	if rare.recent == nil {
		rare.recent = c.cfg.pools.recents.Get().(*recentStreams)
	}
	return rare.recent
}

// releaseRecent gives the record of recent streams back, zeroed.
func (c *Conn) releaseRecent() {
	if c.rare == nil {
		return
	}
	if r := c.rare.recent; r != nil {
		*r = recentStreams{}
		c.cfg.pools.recents.Put(r)
		c.rare.recent = nil
	}
}

// outBuf is a pooled output buffer.
type outBuf struct {
	b    []byte
	peak int // the most the buffer held since it left the pool
	idle int // uses in a row that needed less than a quarter of it
	// payloads sent by reference (outvec.go), in output order, and
	// their total length
	refs     []outRef
	refBytes int
}

const (
	// outBufSize is the capacity of a new output buffer.
	outBufSize = 16 << 10
	// outIdleUses is how many writes in a row may use less than a quarter
	// of a buffer above outBufSize before it is dropped.
	outIdleUses = 16
)

// idleTable stands in for the stream table of a connection without streams:
// it is never written (Insert goes through Conn.insertStream), so every
// connection can share it.
var idleTable = streamtable.New[stream](1)

func newConnPools(maxStreams uint32) *connPools {
	p := &connPools{}
	p.sets.New = func() any {
		s := &streamSet{table: streamtable.New[stream](int(maxStreams))}
		s.rq[codec.DefaultPriority.Urgency].buf = make([]uint32, maxStreams+1)
		return s
	}
	p.outs.New = func() any {
		return &outBuf{b: make([]byte, 0, outBufSize)}
	}
	p.recents.New = func() any { return new(recentStreams) }
	return p
}

// insertStream adds a stream record, taking a stream table from the pool
// when the connection had none.
func (c *Conn) insertStream(id uint32) (*stream, error) {
	if c.set == nil {
		c.set = c.cfg.pools.sets.Get().(*streamSet)
		c.streams = c.set.table
		c.resetQueues(c.set)
	}
	st, err := c.streams.Insert(id)
	if err == nil {
		c.m.OpenStreams.Add(1)
	}
	return st, err
}

// releaseStreams gives the stream table back once the last stream closed and
// no DATA is queued.
func (c *Conn) releaseStreams() {
	if c.set == nil || c.streams.Len() != 0 {
		return
	}
	c.resetQueues(c.set)
	c.cfg.pools.sets.Put(c.set)
	c.set = nil
	c.streams = idleTable
}

// begin makes sure the connection has an output buffer before frames are
// appended to it.
func (c *Conn) begin() {
	if c.out == nil {
		c.outp = c.cfg.pools.outs.Get().(*outBuf)
		c.out = c.outp.b[:0]
	}
}

// notePeakOut records the length of the output before it is consumed.
func (c *Conn) notePeakOut() {
	if c.outp != nil {
		c.outp.peak = max(c.outp.peak, len(c.out))
	}
}

// releaseOut gives the (empty) output buffer back to the pool, unless it
// is too large or has been too large for its uses for a while.
func (c *Conn) releaseOut() {
	c.encv.Release() // the encoder's block buffer too: every block is in out
	if c.outp == nil {
		c.out = nil
		return
	}
	ob := c.outp
	ob.dropRefs()
	if n := cap(c.out); n > outBufSize && ob.peak < n/4 {
		ob.idle++
	} else {
		ob.idle = 0
	}
	ob.peak = 0
	if cap(c.out) <= c.cfg.WriteChunk+4*outBufSize && ob.idle <= outIdleUses {
		ob.b = c.out[:0]
		c.cfg.pools.outs.Put(ob)
	}
	c.outp = nil
	c.out = nil
}
