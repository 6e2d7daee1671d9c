package engine

import "github.com/valyala/bytebufferpool"

// Body buffers. A body of up to SmallBody bytes stays in the Request's own
// buffer, which the Request keeps from one use to the next (the Request is
// pooled, so this costs nothing per request). A larger response body
// (RespBody) or received request body moves to a buffer from one of two
// pools of github.com/valyala/bytebufferpool, one per purpose, and goes
// back at the release (Reset). Each pool learns the sizes its buffers are
// used for (it calibrates every 42,000 returns to one size class) and from
// then on keeps only buffers up to the size that covers 95 % of the uses:
// a larger buffer is dropped when it comes back. After a burst of large
// bodies, no pooled Request holds more than SmallBody of each; the pools
// give the rest back to the collector as ordinary traffic resumes. A
// buffer above MaxPooledBody is never pooled, calibrated or not. The price
// of calibration: once a pool has calibrated, a body larger than the size
// that covers 95 % of its uses allocates its buffer each time.
var (
	respBodies bytebufferpool.Pool // RespBody above SmallBody: what handlers write
	recvBodies bytebufferpool.Pool // body above SmallBody: received request body bytes
)

const (
	// SmallBody is the largest body a Request keeps in a buffer of its own
	// (whose capacity append may leave at up to twice that).
	SmallBody = 4 << 10
	// MaxPooledBody is the capacity above which a body buffer is never put
	// back in its pool.
	MaxPooledBody = 1 << 20
)

// RespBuffer returns RespBody ready for appending n more bytes: the
// Request's own buffer while the body fits in SmallBody, a pooled one
// beyond (a static body is copied first). Store the result of the append
// back in RespBody: r.RespBody = append(r.RespBuffer(len(p)), p...).
func (r *Request) RespBuffer(n int) []byte {
	if !r.staticBody && (r.respBuf != nil || len(r.RespBody)+n <= SmallBody) {
		return r.RespBody
	}
	if r.respBuf == nil {
		r.respBuf = respBodies.Get()
	}
	r.RespBody = append(r.respBuf.B[:0], r.RespBody...)
	r.staticBody = false
	return r.RespBody
}

// EmptyRespBuffer is RespBuffer for a body that replaces RespBody.
func (r *Request) EmptyRespBuffer(n int) []byte {
	if r.staticBody {
		r.RespBody = nil
		if r.respBuf != nil {
			r.RespBody = r.respBuf.B
		}
		r.staticBody = false
	}
	r.notePeak()
	r.RespBody = r.RespBody[:0]
	return r.RespBuffer(n)
}

// notePeak records the length of RespBody before it is truncated, so that
// its pool learns the size the buffer was used for.
func (r *Request) notePeak() {
	if !r.staticBody {
		r.respPeak = max(r.respPeak, len(r.RespBody))
	}
}

// appendBody appends received request body bytes, moving them to a pooled
// buffer when they outgrow SmallBody.
func (r *Request) appendBody(p []byte) {
	if r.recvBuf == nil && len(r.body)+len(p) > SmallBody {
		r.recvBuf = recvBodies.Get()
		r.body = append(r.recvBuf.B[:0], r.body...)
	}
	r.body = append(r.body, p...)
	r.bodyPeak = max(r.bodyPeak, len(r.body))
}

// releaseBuffers gives pooled body buffers back, each with the largest
// length it held (what its pool calibrates on), and keeps the Request's
// own buffers up to SmallBody.
func (r *Request) releaseBuffers() {
	switch bb := r.respBuf; {
	case bb != nil:
		if !r.staticBody {
			bb.B = r.RespBody // the handler's appends may have moved it
		}
		putBody(&respBodies, bb, max(len(bb.B), r.respPeak))
		r.respBuf = nil
		r.RespBody = nil
	case r.staticBody:
		r.RespBody = nil
	case cap(r.RespBody) > 2*SmallBody:
		// Grown by appends to BodyBuffer (appends below SmallBody leave at
		// most twice its capacity): the pool may use it.
		bb := respBodies.Get()
		bb.B = r.RespBody
		putBody(&respBodies, bb, max(len(r.RespBody), r.respPeak))
		r.RespBody = nil
	default:
		r.RespBody = r.RespBody[:0]
	}
	r.staticBody = false
	r.respPeak = 0
	if bb := r.recvBuf; bb != nil {
		bb.B = r.body
		putBody(&recvBodies, bb, r.bodyPeak)
		r.recvBuf = nil
		r.body = nil
	} else {
		r.body = r.body[:0]
	}
	r.bodyPeak = 0
}

// putBody puts bb back in p with length peak (clipped to its capacity),
// unless it is above MaxPooledBody.
func putBody(p *bytebufferpool.Pool, bb *bytebufferpool.ByteBuffer, peak int) {
	if cap(bb.B) > MaxPooledBody {
		return
	}
	bb.B = bb.B[:min(peak, cap(bb.B))]
	p.Put(bb)
}
