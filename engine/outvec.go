package engine

import "github.com/h2loop/h2loop/codec"

// Output by reference. The payload of a DATA frame cut from a static
// response body (Request.SetStaticBody: immutable memory nobody changes)
// is not copied into the output buffer: the frame's 9-byte header goes
// into the buffer, and the payload is recorded as a reference to the body,
// logically inserted at that point of the buffer. A transport that writes
// with gathered I/O (writev) takes the output as segments (OutputSegments)
// and the body goes from its own memory to the socket; Output, for the
// others, copies the references into the buffer first. The output is the
// same stream of bytes either way.
//
// The references live in the pooled output buffer (outBuf), so an idle
// connection holds none; they are dropped when the output has been
// written. A reference may outlive its stream (the stream ends when its
// last frame is framed, not written): that is why only static bodies,
// which never change and are never reused, are referenced.

// minRefPayload is the smallest DATA payload sent by reference: a smaller
// one costs less to copy than a segment of its own costs the kernel.
const minRefPayload = 2 << 10

// outRef is a slice of a static body logically inserted in the output
// buffer before out[at].
type outRef struct {
	at int
	b  []byte
}

// appendDataRef appends one DATA frame with payload p, a slice of a
// static body, by reference.
func (c *Conn) appendDataRef(id uint32, endStream bool, p []byte) {
	if c.outp == nil {
		c.out = codec.AppendData(c.out, id, endStream, p)
		return
	}
	var f codec.Flags
	if endStream {
		f = codec.FlagEndStream
	}
	c.out = codec.AppendFrameHeader(c.out, codec.FrameHeader{Length: uint32(len(p)), Type: codec.FrameData, Flags: f, StreamID: id})
	ob := c.outp
	ob.refs = append(ob.refs, outRef{at: len(c.out), b: p})
	ob.refBytes += len(p)
}

// refChunks is how many times Config.WriteChunk of output a scheduling
// round may frame when the payloads beyond WriteChunk are held by
// reference: they cost no buffer, and the fewer and larger the writes of
// a large body, the less the kernel works per byte (one wake-up of the
// reader per write).
const refChunks = 4

// OutputReferenced is how many bytes of the output are held by reference:
// when it is 0, Output is the whole output without a copy.
func (c *Conn) OutputReferenced() int { return c.refBytes() }

// refBytes is how many output bytes are held by reference.
func (c *Conn) refBytes() int {
	if c.outp == nil {
		return 0
	}
	return c.outp.refBytes
}

// OutputLen is the number of output bytes produced so far and not yet
// consumed, referenced payloads included.
func (c *Conn) OutputLen() int { return len(c.out) + c.refBytes() }

// OutputSegments appends the output to dst as consecutive segments, at
// most cap(dst)-len(dst) of them (it never grows dst), and returns dst.
// Written in order they are the first bytes of the output: the transport
// writes them and calls ConsumeOutput with the number of bytes written,
// then asks again for the rest. The segments are valid until the next call
// into c; the transport must not modify them.
func (c *Conn) OutputSegments(dst [][]byte) [][]byte {
	var refs []outRef
	if c.outp != nil {
		refs = c.outp.refs
	}
	at := 0
	for _, r := range refs {
		if len(dst) == cap(dst) {
			return dst
		}
		if r.at > at {
			dst = append(dst, c.out[at:r.at])
			at = r.at
			if len(dst) == cap(dst) {
				return dst
			}
		}
		dst = append(dst, r.b)
	}
	if at < len(c.out) && len(dst) < cap(dst) {
		dst = append(dst, c.out[at:])
	}
	return dst
}

// flattenOutput copies the referenced payloads into the output buffer, in
// place: afterwards c.out is the whole output.
func (c *Conn) flattenOutput() {
	ob := c.outp
	if ob == nil || len(ob.refs) == 0 {
		return
	}
	n := len(c.out)
	total := n + ob.refBytes
	if cap(c.out) < total {
		grown := make([]byte, n, total+total/4)
		copy(grown, c.out)
		c.out = grown
	}
	c.out = c.out[:total]
	// From the last reference back to the first: move the bytes after it
	// to their final place, then put the payload before them.
	end, src := total, n
	for i := len(ob.refs) - 1; i >= 0; i-- {
		r := ob.refs[i]
		k := src - r.at
		copy(c.out[end-k:end], c.out[r.at:src])
		end -= k
		copy(c.out[end-len(r.b):end], r.b)
		end -= len(r.b)
		src = r.at
	}
	ob.dropRefs()
}

// consumeRefs drops the first n bytes of an output that holds references
// (n below OutputLen).
func (c *Conn) consumeRefs(n int) {
	ob := c.outp
	cut := 0 // bytes of c.out consumed
	drop := 0
	for drop < len(ob.refs) {
		r := &ob.refs[drop]
		if gap := r.at - cut; n < gap {
			cut += n
			n = 0
			break
		} else {
			n -= gap
			cut = r.at
		}
		if n < len(r.b) {
			// Stops inside this payload: the rest of it stays referenced.
			r.b = r.b[n:]
			ob.refBytes -= n
			n = 0
			break
		}
		n -= len(r.b)
		ob.refBytes -= len(r.b)
		r.b = nil
		drop++
	}
	cut += n // past the last reference: plain bytes
	rest := copy(ob.refs, ob.refs[drop:])
	clear(ob.refs[rest:])
	ob.refs = ob.refs[:rest]
	for i := range ob.refs {
		ob.refs[i].at -= cut
	}
	c.out = c.out[:copy(c.out, c.out[cut:])]
}

// dropRefs forgets every reference (they hold body memory alive).
func (ob *outBuf) dropRefs() {
	clear(ob.refs)
	ob.refs = ob.refs[:0]
	ob.refBytes = 0
}
