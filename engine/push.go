package engine

import (
	"errors"
	"slices"
	"strings"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// Server push (RFC 9113 §8.4), opt-in with Config.EnablePush: a handler
// promises a request with PUSH_PROMISE on its own stream, and the promised
// request is dispatched to the server's handler like one the client sent,
// on a stream the server reserved; its response goes out under the
// client's flow control like any other.

// Errors of Push.
var (
	ErrPushDisabled  = errors.New("h2: push not enabled (Config.EnablePush) or refused by the client (SETTINGS_ENABLE_PUSH = 0)")
	ErrPushLimit     = errors.New("h2: push would exceed the client's SETTINGS_MAX_CONCURRENT_STREAMS or our stream table")
	ErrPushRequest   = errors.New("h2: pushed request must be GET or HEAD of a path (safe, cacheable, no body) with valid fields")
	ErrPushAuthority = errors.New("h2: pushed request's authority is not one this connection serves")
	ErrPushStream    = errors.New("h2: push from a stream that is not an open client request")
)

// Push promises the request (method, authority, path, fields) on r's
// stream and dispatches it. authority "" is r's; another must be listed
// (as scheme://authority) in Config.Origins. fields are name, value pairs
// (lower-case names, immutable strings). It checks what RFC 9113 §8.4
// demands:
//
//   - "PUSH_PROMISE MUST NOT be sent if the SETTINGS_ENABLE_PUSH setting of
//     the peer endpoint is set to 0" (§6.6);
//   - "Promised requests MUST be safe ... MUST be cacheable ... MUST NOT
//     include a request body" (§8.4): GET or HEAD only;
//   - "The server MUST include a value in the :authority pseudo-header
//     field for which the server is authoritative" (§8.4.1);
//   - "PUSH_PROMISE frames MUST only be sent on a peer-initiated stream that
//     is in either the "open" or "half-closed (remote)" state" (§6.6);
//   - pushed streams count against the client's
//     SETTINGS_MAX_CONCURRENT_STREAMS (§5.1.2): beyond it no push.
func (c *Conn) Push(r *Request, method, authority, path string, fields []string) error {
	c.begin()
	if !c.cfg.EnablePush || !c.peerPush {
		return ErrPushDisabled
	}
	st := c.streamOf(r)
	if st == nil || st.id%2 == 0 || st.respDone || r.headersSent && r.endSent ||
		st.state != stOpen && st.state != stHalfClosedRemote || c.state != stateOpen ||
		c.goAwaySent || c.peerGoAway || c.shutdownPing {
		return ErrPushStream
	}
	if method != "GET" && method != "HEAD" || path == "" || path[0] != '/' || len(fields)%2 != 0 {
		return ErrPushRequest
	}
	for i := 0; i < len(path); i++ {
		if path[i] <= ' ' || path[i] == 0x7f {
			return ErrPushRequest
		}
	}
	for i := 0; i < len(fields); i += 2 {
		if fields[i] == "" || fields[i][0] == ':' || !codec.ValidResponseField(fields[i], fields[i+1]) {
			return ErrPushRequest
		}
	}
	// The promised request outlives r, and the PUSH_PROMISE's fields enter
	// the HPACK table: nothing may stay in r's header arena.
	keep := func(s string) string {
		if r.Header.InArena(s) {
			return strings.Clone(s)
		}
		return s
	}
	scheme := keep(r.Header.Scheme)
	method, path = keep(method), keep(path)
	if slices.ContainsFunc(fields, r.Header.InArena) {
		fields = slices.Clone(fields)
		for i := range fields {
			fields[i] = keep(fields[i])
		}
	}
	if authority == "" {
		authority = keep(r.Header.Authority)
	} else if !strings.EqualFold(authority, r.Header.Authority) && !c.servesOrigin(scheme, authority) {
		return ErrPushAuthority
	}
	if authority == "" || scheme == "" {
		return ErrPushAuthority
	}
	rare := c.rareState()
	if rare.pushActive >= c.peerMaxStreams || uint32(c.streams.Len()) >= c.cfg.MaxConcurrentStreams {
		return ErrPushLimit
	}
	id := rare.lastPushID + 2
	if id > codec.MaxStreamID {
		return ErrPushLimit
	}
	pst, err := c.insertStream(id)
	if err != nil {
		return ErrPushLimit
	}
	rare.lastPushID = id
	rare.pushActive++

	// PUSH_PROMISE, with CONTINUATION frames for a long block.
	e := &c.encv
	e.Reset()
	e.WriteField(":method", method)
	e.WriteField(":scheme", scheme)
	e.WriteField(":authority", authority)
	e.WriteField(":path", path)
	for i := 0; i < len(fields); i += 2 {
		e.WriteField(fields[i], fields[i+1])
	}
	c.out = appendPushPromise(c.out, st.id, id, e.Bytes(), c.peerMaxFrm)
	c.touch(st)

	pr := c.openStream(pst, id, stReservedLocal)
	pr.Pushed = true
	pr.Priority = pst.prio
	h := &pr.Header
	h.Method, h.Scheme, h.Authority, h.Path = method, scheme, authority, path
	for i := 0; i < len(fields); i += 2 {
		h.Fields = append(h.Fields, hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	pr.bodyEOF = true
	pst.req = pr
	c.m.inc(&c.m.Pushes)
	c.dispatch(pst, false)
	return nil
}

// appendPushPromise appends PUSH_PROMISE frames carrying block, split as
// AppendHeaderBlock splits a header block (the promised stream id takes 4
// octets of the first frame).
func appendPushPromise(dst []byte, id, promised uint32, block []byte, maxFrame uint32) []byte {
	max := int(min(max(maxFrame, codec.DefaultMaxFrameSize), codec.MaxFrameSizeLimit)) - 4
	if len(block) <= max {
		return codec.AppendPushPromise(dst, id, promised, true, block)
	}
	dst = codec.AppendPushPromise(dst, id, promised, false, block[:max])
	block = block[max:]
	max += 4
	for len(block) > max {
		dst = codec.AppendContinuation(dst, id, false, block[:max])
		block = block[max:]
	}
	return codec.AppendContinuation(dst, id, true, block)
}

// servesOrigin reports whether scheme://authority is one of Config.Origins.
func (c *Conn) servesOrigin(scheme, authority string) bool {
	for _, o := range c.cfg.Origins {
		if len(o) == len(scheme)+3+len(authority) && strings.EqualFold(o[:len(scheme)], scheme) &&
			o[len(scheme):len(scheme)+3] == "://" && strings.EqualFold(o[len(scheme)+3:], authority) {
			return true
		}
	}
	return false
}

// PushAllowed reports whether Push may succeed now: push is enabled, the
// client accepts it, and the connection is not going away.
func (c *Conn) PushAllowed() bool {
	return c.cfg.EnablePush && c.peerPush && c.state == stateOpen && !c.goAwaySent && !c.peerGoAway && !c.shutdownPing
}
