package engine

import "github.com/valyala/bytebufferpool"

// Body buffers. A request's response body (RespBody) and the request body
// it receives come from two pools of github.com/valyala/bytebufferpool, one
// per purpose. Each pool learns the sizes its buffers are used for (it
// calibrates every 42,000 returns to one size class) and from then on keeps
// only buffers up to the size that covers 95 % of the uses: a larger buffer
// is dropped when it comes back. After a burst of large bodies, ordinary
// traffic soon returns the memory; a steady body size costs no allocation.
// A Request holds a buffer from its first body byte to its release (Reset),
// never between requests: a pooled request context keeps none. Before a
// pool has calibrated, a buffer above MaxPooledBody is dropped anyway.
var (
	respBodies bytebufferpool.Pool // RespBody: what handlers write
	recvBodies bytebufferpool.Pool // body: received request body bytes
)

// MaxPooledBody is the capacity above which a body buffer is never put back
// in its pool.
const MaxPooledBody = 1 << 20

// RespBuffer returns RespBody for appending, backed by a pooled buffer
// (taken on first use; a static body is copied into it). Store the result
// of the append back in RespBody: ctx.RespBody = append(ctx.RespBuffer(), p...).
func (r *Request) RespBuffer() []byte {
	switch {
	case r.respBuf == nil:
		r.respBuf = respBodies.Get()
		r.RespBody = append(r.respBuf.B[:0], r.RespBody...)
		r.staticBody = false
	case r.staticBody:
		r.RespBody = append(r.respBuf.B[:0], r.RespBody...)
		r.staticBody = false
	}
	return r.RespBody
}

// notePeak records the length of RespBody before it is truncated, so that
// its pool learns the size the buffer was used for.
func (r *Request) notePeak() {
	if !r.staticBody {
		r.respPeak = max(r.respPeak, len(r.RespBody))
	}
}

// appendBody appends received request body bytes, taking a pooled buffer
// for the first ones.
func (r *Request) appendBody(p []byte) {
	if r.recvBuf == nil {
		r.recvBuf = recvBodies.Get()
		r.body = r.recvBuf.B[:0]
	}
	r.body = append(r.body, p...)
	r.bodyPeak = max(r.bodyPeak, len(r.body))
}

// releaseBuffers gives the body buffers back to their pools, each with the
// largest length it held, which is what the pool calibrates on.
func (r *Request) releaseBuffers() {
	if bb := r.respBuf; bb != nil {
		if !r.staticBody {
			bb.B = r.RespBody // the handler's appends may have moved it
		}
		bb.B = bb.B[:min(max(len(bb.B), r.respPeak), cap(bb.B))]
		if cap(bb.B) <= MaxPooledBody {
			respBodies.Put(bb)
		}
		r.respBuf = nil
	}
	r.RespBody = nil
	r.staticBody = false
	r.respPeak = 0
	if bb := r.recvBuf; bb != nil {
		bb.B = r.body[:min(max(len(r.body), r.bodyPeak), cap(r.body))]
		if cap(bb.B) <= MaxPooledBody {
			recvBodies.Put(bb)
		}
		r.recvBuf = nil
	}
	r.body = nil
	r.bodyPeak = 0
}
