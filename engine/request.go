package engine

import (
	"github.com/h2loop/h2loop/codec"
	"github.com/valyala/bytebufferpool"
)

// HeaderKV is one response header or trailer field. Either Value or, when
// Bytes is true, the bytes arena[Off:Off+Len] of the request's header arena
// hold the value.
type HeaderKV struct {
	Name  string
	Value string
	Off   int32
	Len   int32
	Bytes bool
}

// Request is the engine's record of one request and its response. The server
// owns it between Callbacks.AcquireRequest and Callbacks.ReleaseRequest;
// every field is guarded by the connection's lock unless said otherwise.
type Request struct {
	// Header is the decoded request header section. Its strings do not
	// borrow from the input, so they stay valid until ReleaseRequest; those
	// of literals the client sent without indexing (nghttp2's clients send
	// every :path and content-length so) are in the request's own memory
	// (hdrArena) and valid only until then: Header.InArena tells them apart
	// for whoever keeps one longer.
	Header codec.HeaderBlock
	// Trailer is the decoded trailer section, nil when none arrived.
	Trailer *codec.HeaderBlock
	// StreamID is the stream the request arrived on.
	StreamID uint32
	// Priority is the response's priority as the client asked for it
	// (RFC 9218: the priority header field, or a PRIORITY_UPDATE that came
	// before the request), set before the handler starts; later updates
	// change the scheduling, not this field.
	Priority codec.Priority
	// Pushed reports a request the server promised (server push), not one
	// the client sent.
	Pushed bool
	// Owner is free for the server (its request context); the engine never touches it.
	Owner any

	// Response, filled in by the handler before Respond or SendHeaders.
	// Append to RespBody through RespBuffer, which moves a body larger
	// than SmallBody to a pooled buffer (buffers.go).
	Status     int
	RespHeader []HeaderKV
	RespBody   []byte
	Trailers   []HeaderKV
	arena      []byte                     // value bytes of HeaderKV with Bytes set
	staticBody bool                       // RespBody is borrowed read-only memory: never append to it
	respBuf    *bytebufferpool.ByteBuffer // the pooled buffer behind RespBody, nil while it is small
	respPeak   int                        // the largest length RespBody had before a truncation

	// request body
	body       []byte                     // received, not yet read, from bodyOff
	recvBuf    *bytebufferpool.ByteBuffer // the pooled buffer behind body, nil while it is small
	bodyPeak   int                        // the largest length body had
	bodyOff    int
	bodyLen    int64 // total DATA payload received
	bodyEOF    bool  // END_STREAM received
	unacked    int64 // bytes read by the handler but not yet returned to the windows (manual mode)
	connHeld   int64 // bytes whose connection window credit is still held (beyond MaxConnBodyBuffer)
	credited   int64 // bytes buffered before dispatch, whose credit was returned on arrival
	bodyClosed bool  // CloseBody: unread and later body bytes are discarded
	ManualAck  bool  // the handler returns window credit itself with Conn.AckBody

	// lifecycle
	conn         *Conn
	streaming    bool      // dispatched before END_STREAM: body windows are released as the handler reads
	life         lifeState // the request's life (life.go): who still holds it
	headersSent  bool
	endSent      bool
	Canceled     bool          // the stream was reset or the connection died
	CancelCode   codec.ErrCode // why, when Canceled
	pendingOff   int           // how much of RespBody has been framed
	owned        bool          // the engine may read RespBody: set by Respond and Flush, cleared by CompactBody
	finishing    bool          // no more body will be added: end the stream after RespBody (and Trailers)
	engineAnswer bool          // the engine answered (413, 431, 408): no handler response
	bodyAtEnd    int64         // bodyLen when the response ended with the body still arriving

	// hdrArena is Header's arena (useHeaderArena), last: most requests
	// leave it untouched, and the fields above share their cache lines.
	hdrArena [256]byte
}

// useHeaderArena gives Header the request's own memory for the literal
// strings that do not enter the HPACK table, so that decoding them
// allocates nothing.
func (r *Request) useHeaderArena() {
	if !r.Header.HasArena() {
		r.Header.SetArena(r.hdrArena[:0])
	}
}

// Reset clears the request for reuse. It keeps the capacity of its header
// slices and of small body buffers, and gives pooled body buffers back.
func (r *Request) Reset() {
	r.Header.Reset()
	if r.Trailer != nil {
		r.Trailer.Reset()
	}
	r.StreamID = 0
	r.Priority = codec.Priority{}
	r.Pushed = false
	r.Status = 0
	r.RespHeader = r.RespHeader[:0]
	r.Trailers = r.Trailers[:0]
	r.arena = r.arena[:0]
	r.releaseBuffers()
	r.bodyOff = 0
	r.bodyLen = 0
	r.bodyEOF = false
	r.unacked = 0
	r.connHeld = 0
	r.credited = 0
	r.bodyClosed = false
	r.ManualAck = false
	r.conn = nil
	r.streaming = false
	r.life = lifeNew
	r.headersSent = false
	r.endSent = false
	r.Canceled = false
	r.CancelCode = 0
	r.pendingOff = 0
	r.owned = false
	r.finishing = false
	r.engineAnswer = false
	r.bodyAtEnd = 0
}

// AddHeader appends a response header field. name and value must be
// immutable (string constants or strings nobody changes): the HPACK encoder
// may keep them in its dynamic table. Strings of r's own header arena
// (Header.InArena) are the exception: they are written without entering
// the table.
func (r *Request) AddHeader(name, value string) {
	r.RespHeader = append(r.RespHeader, HeaderKV{Name: name, Value: value})
}

// DelHeader removes the response header fields named name.
func (r *Request) DelHeader(name string) {
	kept := r.RespHeader[:0]
	for _, kv := range r.RespHeader {
		if kv.Name != name {
			kept = append(kept, kv)
		}
	}
	clear(r.RespHeader[len(kept):])
	r.RespHeader = kept
}

// AddHeaderBytes appends a response header whose value is copied from value;
// it is sent as a literal that never enters the dynamic table.
func (r *Request) AddHeaderBytes(name string, value []byte) {
	off := len(r.arena)
	r.arena = append(r.arena, value...)
	r.RespHeader = append(r.RespHeader, HeaderKV{Name: name, Off: int32(off), Len: int32(len(value)), Bytes: true})
}

// AddTrailer appends a response trailer field (same rules as AddHeader).
func (r *Request) AddTrailer(name, value string) {
	r.Trailers = append(r.Trailers, HeaderKV{Name: name, Value: value})
}

// HeaderValueBytes returns the value of kv, borrowed from r (valid until the
// request is released).
func (r *Request) HeaderValueBytes(kv *HeaderKV) []byte {
	return r.arena[kv.Off : kv.Off+kv.Len]
}

// BodyBuffered returns the received request body bytes not yet read. The
// slice is valid until the next call into the connection.
func (r *Request) BodyBuffered() []byte { return r.body[r.bodyOff:] }

// BodyComplete reports whether the whole request body has arrived.
func (r *Request) BodyComplete() bool { return r.bodyEOF }

// BodyLen is the number of body bytes received so far.
func (r *Request) BodyLen() int64 { return r.bodyLen }

// Streaming reports whether the handler was started before the request
// body was complete. It is set at dispatch and constant while the handler
// runs, so a handler may read it without the connection's lock; when it is
// false, BodyComplete, BodyLen and Trailer are final.
func (r *Request) Streaming() bool { return r.streaming }

// BodyClosed reports whether Conn.CloseBody discarded the request body.
func (r *Request) BodyClosed() bool { return r.bodyClosed }

// HandlerDone reports whether the server marked the handler finished.
func (r *Request) HandlerDone() bool { return r.life == lifeAnswered || r.life == lifeReleased }

// StreamDone reports whether the stream is closed (response sent or reset).
func (r *Request) StreamDone() bool { return r.life == lifeOrphaned || r.life == lifeReleased }

// Pending reports how many response body bytes are queued but not yet framed.
// Only call it while the engine owns the body (after Respond, or during a
// Flush): a running handler appends to RespBody without the connection lock.
func (r *Request) Pending() int { return len(r.RespBody) - r.pendingOff }

// sendable reports whether the engine owns RespBody and has bytes to frame.
func (r *Request) sendable() bool { return r.owned && len(r.RespBody) > r.pendingOff }

// SetStaticBody makes b the whole response body without copying. b must
// stay unchanged for as long as the response may be in flight (use it for
// immutable, shared content); nothing is ever appended to it.
func (r *Request) SetStaticBody(b []byte) {
	if r.respBuf != nil && !r.staticBody {
		r.notePeak()
		r.respBuf.B = r.RespBody[:0] // kept for release or a later write
	}
	r.RespBody = b[:len(b):len(b)]
	r.staticBody = true
}
