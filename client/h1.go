package client

import (
	"encoding/base64"
	"errors"

	"github.com/h2loop/h2loop/codec"
)

// H1Conn is the client side of one HTTP/1.1 connection (RFC 9112) without
// I/O, with the same driving methods as H2Conn: requests are pipelined up to
// MaxConcurrentStreams (one when they carry a body, as h2load does), and
// responses are matched to them in order.
//
// Only what a load generator needs is parsed: the status code, the framing
// (Content-Length, chunked, or until close) and Connection: close. Nothing
// allocates after NewH1Conn.
type H1Conn struct {
	// immutable after NewH1Conn
	set   *RequestSet
	h     Handler
	limit int

	// owned by the driver
	out   []byte
	wpos  int
	queue []h1pending // requests sent, oldest first (a ring)
	qhead int
	qlen  int
	final bool // Connection: close seen, or HTTP/1.0 without keep-alive
	dead  bool

	// response being parsed
	st      int // h1StatusLine, ...
	status  int
	clen    int64 // remaining body octets (content-length or chunk)
	chunked bool
	close   bool // this response closes the connection
	http10  bool
	keep    bool // HTTP/1.0 keep-alive

	// upgrade handling (RFC 9113 §3.2 of RFC 7540)
	upgradeTok int32
	upgradeReq int32
	upgrading  bool
	// Upgraded is set when the server answered the upgrade request with 101:
	// the bytes after the response head belong to HTTP/2 and the upgrade
	// request's response comes on stream 1.
	Upgraded bool
	// Declined is set when the server answered the upgrade request with an
	// ordinary response: the connection goes on as HTTP/1.1.
	Declined bool

	// Counters, as h2load counts HTTP/1.1 traffic: header names and values
	// (no compression, so BytesHeadDecomp == BytesHead) and body octets.
	BytesHead       uint64
	BytesHeadDecomp uint64
	BytesBody       uint64
}

type h1pending struct {
	token  int32
	reqIdx int32
	head   bool // HEAD request: no body in the response
}

// response parse states
const (
	h1StatusLine = iota
	h1Headers
	h1Body      // content-length body
	h1ChunkSize // chunked: size line
	h1ChunkData
	h1ChunkCRLF
	h1Trailers
	h1UntilClose
)

// Errors of H1Conn.
var (
	// ErrHTTP1Parse is a malformed HTTP/1.1 response; the connection is unusable.
	ErrHTTP1Parse = errors.New("client: malformed HTTP/1.1 response")
	// ErrHTTP1HeadTooLarge: a response head does not fit the read buffer limit.
	ErrHTTP1HeadTooLarge = errors.New("client: HTTP/1.1 response head too large")
)

// maxH1Line is the longest status or header line accepted.
const maxH1Line = 64 << 10

// NewH1Conn returns an HTTP/1.1 connection that pipelines up to
// maxInFlight requests of set.
func NewH1Conn(maxInFlight int, set *RequestSet, h Handler) *H1Conn {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	for i := 0; i < set.Len(); i++ {
		if set.reqs[i].Body != nil {
			maxInFlight = 1 // h2load: "if -d is used, the maximum number of in-flight pipelined requests is set to 1"
			break
		}
	}
	return &H1Conn{set: set, h: h, limit: maxInFlight, queue: make([]h1pending, maxInFlight),
		out: make([]byte, 0, 4096)}
}

// Output returns the bytes waiting to be written, valid until the next call.
func (c *H1Conn) Output() []byte { return c.out[c.wpos:] }

// Wrote records that n bytes of Output were written.
func (c *H1Conn) Wrote(n int) {
	c.wpos += n
	if c.wpos >= len(c.out) {
		c.out = c.out[:0]
		c.wpos = 0
	}
}

// Active returns the number of requests awaiting their response.
func (c *H1Conn) Active() int { return c.qlen }

// GoingAway reports whether no new request may be sent.
func (c *H1Conn) GoingAway() bool { return c.final || c.dead || c.upgrading }

// CanSubmit returns how many more requests may be sent now.
func (c *H1Conn) CanSubmit() int {
	if c.GoingAway() {
		return 0
	}
	return c.limit - c.qlen
}

// Shutdown stops new requests; open ones complete.
func (c *H1Conn) Shutdown() { c.final = true }

// Submit sends request reqIdx with token.
func (c *H1Conn) Submit(reqIdx int, token int32) error {
	if c.GoingAway() {
		return ErrGoingAway
	}
	if c.qlen >= c.limit {
		return ErrNoStreamSlot
	}
	c.push(reqIdx, token)
	c.out = append(c.out, c.set.h1[reqIdx]...)
	c.out = append(c.out, c.set.reqs[reqIdx].Body...)
	return nil
}

// SubmitUpgrade sends request reqIdx as an HTTP/1.1 request asking to
// upgrade to h2c (RFC 7540 §3.2), with settings as the HTTP2-Settings
// payload (base64url-encoded here). No other request is sent until the
// response arrives.
func (c *H1Conn) SubmitUpgrade(reqIdx int, token int32, settings []byte) error {
	if c.GoingAway() || c.qlen > 0 {
		return ErrNoStreamSlot
	}
	c.push(reqIdx, token)
	extra := [...]Field{
		{Name: "Connection", Value: "Upgrade, HTTP2-Settings"},
		{Name: "Upgrade", Value: "h2c"},
		{Name: "HTTP2-Settings", Value: base64.RawURLEncoding.EncodeToString(settings)},
	}
	c.out = appendHTTP1Head(c.out, &c.set.reqs[reqIdx], extra[:])
	c.out = append(c.out, c.set.reqs[reqIdx].Body...)
	c.upgrading, c.upgradeTok = true, token
	return nil
}

// UpgradeStream returns the request index and token of the upgrade request,
// whose response continues on HTTP/2 stream 1 once Upgraded is set.
func (c *H1Conn) UpgradeStream() (reqIdx int, token int32) {
	return int(c.upgradeReq), c.upgradeTok
}

func (c *H1Conn) push(reqIdx int, token int32) {
	i := (c.qhead + c.qlen) % len(c.queue)
	c.queue[i] = h1pending{token: token, reqIdx: int32(reqIdx), head: c.set.reqs[reqIdx].Method == "HEAD"}
	c.qlen++
}

func (c *H1Conn) pop() h1pending {
	p := c.queue[c.qhead]
	c.qhead = (c.qhead + 1) % len(c.queue)
	c.qlen--
	return p
}

// Fail ends every outstanding request with r.
func (c *H1Conn) Fail(r Result) {
	c.dead = true
	for c.qlen > 0 {
		p := c.pop()
		c.h.Closed(p.token, r, codec.ErrCodeNo)
	}
}

// EOF tells the connection the server closed it. A response delimited by
// the close completes; requests still waiting end with ResultRefused when
// the server announced the close (they were never processed) and
// ResultConnError otherwise.
func (c *H1Conn) EOF() {
	if c.st == h1UntilClose && c.qlen > 0 {
		p := c.pop()
		c.h.Closed(p.token, ResultOK, codec.ErrCodeNo)
		c.st = h1StatusLine
	}
	if c.final && c.st == h1StatusLine {
		c.dead = true
		for c.qlen > 0 {
			p := c.pop()
			c.h.Closed(p.token, ResultRefused, codec.ErrCodeNo)
		}
		return
	}
	c.Fail(ResultConnError)
}

// line returns the next CRLF- (or LF-) terminated line of p without the
// terminator, and the octets it used; ok false when incomplete.
func line(p []byte) (l []byte, used int, ok bool) {
	for i, b := range p {
		if b == '\n' {
			l = p[:i]
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			return l, i + 1, true
		}
	}
	return nil, 0, false
}

// eqFold compares an ASCII header name case-insensitively with lower-case s.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// containsToken reports whether a comma-separated header value contains
// token t (lower case), case-insensitively.
func containsToken(v []byte, t string) bool {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		tok := trimOWS(v[:i])
		if eqFold(tok, t) {
			return true
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
	return false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// Feed parses responses in p and returns the octets consumed; an incomplete
// line is left for the next call (so the driver's buffer must hold a whole
// line, at most 64 KiB). After Upgraded becomes true Feed stops at the end
// of the 101 response: the rest of p is HTTP/2.
func (c *H1Conn) Feed(p []byte) (int, error) {
	n := 0
	for n < len(p) && !c.Upgraded {
		switch c.st {
		case h1StatusLine, h1Headers, h1ChunkSize, h1ChunkCRLF, h1Trailers:
			l, used, ok := line(p[n:])
			if !ok {
				if len(p)-n > maxH1Line {
					c.dead = true
					return n, ErrHTTP1HeadTooLarge
				}
				return n, nil
			}
			n += used
			if err := c.onLine(l); err != nil {
				c.dead = true
				return n, err
			}
		case h1Body:
			k := min(int64(len(p)-n), c.clen)
			c.BytesBody += uint64(k)
			c.clen -= k
			n += int(k)
			if c.clen == 0 {
				c.complete()
			}
		case h1ChunkData:
			k := min(int64(len(p)-n), c.clen)
			c.BytesBody += uint64(k)
			c.clen -= k
			n += int(k)
			if c.clen == 0 {
				c.st = h1ChunkCRLF
			}
		case h1UntilClose:
			c.BytesBody += uint64(len(p) - n)
			n = len(p)
		}
	}
	return n, nil
}

// onLine handles one line in the line-oriented states.
func (c *H1Conn) onLine(l []byte) error {
	switch c.st {
	case h1StatusLine:
		if len(l) == 0 {
			return nil // RFC 9112 §2.2: tolerate an empty line before the status line
		}
		// HTTP/1.x SP 3DIGIT [SP reason]
		if len(l) < 12 || string(l[:7]) != "HTTP/1." || l[8] != ' ' {
			return ErrHTTP1Parse
		}
		st := parseStatus(l[9:12])
		if st < 100 || (len(l) > 12 && l[12] != ' ') {
			return ErrHTTP1Parse
		}
		if c.qlen == 0 {
			return ErrHTTP1Parse // a response nobody asked for
		}
		c.status = int(st)
		c.http10 = l[7] == '0'
		c.clen, c.chunked, c.close, c.keep = -1, false, false, false
		c.st = h1Headers
	case h1Headers:
		if len(l) == 0 {
			return c.endHead()
		}
		i := 0
		for i < len(l) && l[i] != ':' {
			i++
		}
		if i == 0 || i == len(l) {
			return ErrHTTP1Parse
		}
		name, value := l[:i], trimOWS(l[i+1:])
		c.BytesHead += uint64(len(name) + len(value))
		c.BytesHeadDecomp += uint64(len(name) + len(value))
		switch {
		case eqFold(name, "content-length"):
			v, ok := parseUint(value)
			if !ok {
				return ErrHTTP1Parse
			}
			c.clen = v
		case eqFold(name, "transfer-encoding"):
			if containsToken(value, "chunked") {
				c.chunked = true
			}
		case eqFold(name, "connection"):
			if containsToken(value, "close") {
				c.close = true
			}
			if containsToken(value, "keep-alive") {
				c.keep = true
			}
		}
	case h1ChunkSize:
		// chunk-size [; ext]
		var v int64
		k := 0
		for k < len(l) {
			d := hexVal(l[k])
			if d < 0 {
				break
			}
			v = v*16 + int64(d)
			if v > 1<<40 {
				return ErrHTTP1Parse
			}
			k++
		}
		if k == 0 {
			return ErrHTTP1Parse
		}
		if v == 0 {
			c.st = h1Trailers
			return nil
		}
		c.clen, c.st = v, h1ChunkData
	case h1ChunkCRLF:
		if len(l) != 0 {
			return ErrHTTP1Parse
		}
		c.st = h1ChunkSize
	case h1Trailers:
		if len(l) == 0 {
			c.complete()
		}
	}
	return nil
}

func hexVal(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, d := range b {
		if d < '0' || d > '9' {
			return 0, false
		}
		v = v*10 + int64(d-'0')
	}
	return v, true
}

// endHead handles the blank line that ends a response head.
func (c *H1Conn) endHead() error {
	if c.upgrading {
		c.upgrading = false
		if c.status == 101 {
			p := c.pop() // the request continues as stream 1 of the HTTP/2 connection
			c.upgradeReq = p.reqIdx
			c.Upgraded = true
			c.st = h1StatusLine
			return nil
		}
		c.Declined = true
	}
	if c.status < 200 { // informational: another head follows
		c.st = h1StatusLine
		return nil
	}
	c.h.Response(c.queue[c.qhead].token, c.status)
	if c.close || (c.http10 && !c.keep) {
		c.final = true
	}
	// RFC 9112 §6.3: responses to HEAD, and 204 and 304 responses, have no
	// content; then chunked; then Content-Length; otherwise until close.
	switch {
	case c.queue[c.qhead].head || c.status == 204 || c.status == 304:
		c.complete()
	case c.chunked:
		c.st = h1ChunkSize
	case c.clen >= 0:
		if c.clen == 0 {
			c.complete()
		} else {
			c.st = h1Body
		}
	default:
		c.final = true
		c.st = h1UntilClose
	}
	return nil
}

// complete ends the response at the head of the queue.
func (c *H1Conn) complete() {
	c.st = h1StatusLine
	p := c.pop()
	c.h.Closed(p.token, ResultOK, codec.ErrCodeNo)
	if c.final {
		// requests pipelined behind a closing response were not processed
		for c.qlen > 0 {
			q := c.pop()
			c.h.Closed(q.token, ResultRefused, codec.ErrCodeNo)
		}
	}
}

// Traffic returns the received-traffic counters (see H2Conn.Traffic).
func (c *H1Conn) Traffic() (head, headDecomp, body uint64) {
	return c.BytesHead, c.BytesHeadDecomp, c.BytesBody
}
