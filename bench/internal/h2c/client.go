// Package h2c is the load client of the benchmarks in bench: a minimal
// HTTP/2 cleartext client (prior knowledge, RFC 9113 §3.3) that pipelines one
// fixed request on one connection with a fixed number of streams in flight,
// and allocates nothing in steady state, so that the allocations a benchmark
// process counts are the server's.
//
// It is not a general client: every request on a Conn is the same, response
// headers are only checked for ":status: 200", response bodies are counted
// and dropped, and the server is trusted to follow the protocol (a GOAWAY,
// RST_STREAM or malformed frame ends the run with an error).
package h2c

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// Request is the request a Conn sends, again and again.
type Request struct {
	Method    string // "GET" when empty
	Authority string // :authority, "localhost" when empty
	Path      string // :path, "/" when empty
	// Body is sent in one DATA frame after the HEADERS frame, with a
	// content-length header. It is read, never written, and must stay
	// unchanged while the Conn runs. At most 16384 bytes (one frame of the
	// default SETTINGS_MAX_FRAME_SIZE).
	Body []byte
}

// Stats counts what a Conn received. It is updated by Run.
type Stats struct {
	Responses uint64 // streams that ended with END_STREAM
	Non200    uint64 // responses whose :status was not 200
	BodyBytes uint64 // DATA payload bytes (padding included)
	Reads     uint64 // read calls on the socket
	Writes    uint64 // write calls on the socket
}

// Our settings: the largest stream window, so that only the connection
// window needs updates, and no server push.
const (
	ourStreamWindow = codec.MaxWindowSize
	ourConnWindow   = codec.MaxWindowSize
	updateThreshold = ourConnWindow / 2
	readBufSize     = 256 << 10
	maxBodyLen      = codec.DefaultMaxFrameSize
)

// Conn is one client connection. It is used by one goroutine at a time.
type Conn struct {
	// immutable after Dial
	nc      net.Conn
	first   []byte // the first request's header block, which fills the server's table
	block   []byte // the header block of every later request
	body    []byte // borrowed from Request.Body
	streams int    // requests in flight at most

	// owned by the goroutine calling Run
	Stats
	out        []byte // frames to write, reused
	in         []byte // read buffer: in[:n] holds unparsed bytes
	n          int
	hdr        []byte // header block being assembled from CONTINUATION frames
	hdrEnd     bool   // the HEADERS frame being continued had END_STREAM
	inHeaders  bool   // a CONTINUATION must come next
	dec        *hpack.Decoder
	status     string // :status of the block decoded with emit enabled
	nextID     uint32
	inflight   int
	sendWin    int64 // connection-level send window (§6.9.1)
	streamInit int64 // peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxStreams int64 // peer's SETTINGS_MAX_CONCURRENT_STREAMS
	recvd      int64 // DATA bytes received since our last WINDOW_UPDATE
}

// Dial connects to addr (host:port) and sends the connection preface, our
// SETTINGS and a connection WINDOW_UPDATE; it does not wait for the server.
// streams is the number of requests Run keeps in flight (h2load's -m).
func Dial(addr string, req Request, streams int) (*Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := NewConn(nc, req, streams)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewConn starts an HTTP/2 connection over nc (see Dial). The Conn owns nc.
func NewConn(nc net.Conn, req Request, streams int) (*Conn, error) {
	return newConn(nc, req, streams, readBufSize)
}

func newConn(nc net.Conn, req Request, streams, bufSize int) (*Conn, error) {
	if streams < 1 {
		return nil, errors.New("h2c: streams < 1")
	}
	if len(req.Body) > maxBodyLen {
		return nil, fmt.Errorf("h2c: body of %d bytes is longer than one frame", len(req.Body))
	}
	first, next := EncodeRequest(req)
	c := &Conn{
		nc:         nc,
		first:      first,
		block:      next,
		body:       req.Body,
		streams:    streams,
		out:        make([]byte, 0, min(bufSize, 64<<10)),
		in:         make([]byte, bufSize),
		nextID:     1,
		sendWin:    codec.DefaultInitialWindowSize,
		streamInit: codec.DefaultInitialWindowSize,
		maxStreams: 1 << 31,
	}
	c.dec = hpack.NewDecoder(codec.DefaultHeaderTableSize, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			c.status = f.Value
		}
	})
	c.out = append(c.out, codec.ClientPreface...)
	c.out = codec.AppendSettings(c.out,
		codec.Setting{ID: codec.SettingEnablePush, Value: 0},
		codec.Setting{ID: codec.SettingInitialWindowSize, Value: ourStreamWindow})
	c.out = codec.AppendWindowUpdate(c.out, 0, ourConnWindow-codec.DefaultInitialWindowSize)
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// NetConn is the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// EncodeRequest returns the HPACK blocks of req: first, for the first
// request on a connection, and next, for every later one. Like browsers and
// h2load, first adds the fields outside the static table to the server's
// dynamic table (literals with incremental indexing, RFC 7541 §6.2.1) and
// next refers to them by index (§6.1), so a steady-state request carries no
// literal for the server to copy. The entries take 32 octets each plus
// their lengths out of the default 4096 (§4.1); the request must be small
// enough to fit.
func EncodeRequest(req Request) (first, next []byte) {
	method, path, auth := req.Method, req.Path, req.Authority
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	if auth == "" {
		auth = "localhost"
	}
	// the fields in order; static is a full static-table match, name the
	// static index of the name of a field that enters the dynamic table
	type field struct {
		static int
		name   int
		value  string
	}
	var fields []field
	switch method {
	case "GET":
		fields = append(fields, field{static: 2})
	case "POST":
		fields = append(fields, field{static: 3})
	default:
		fields = append(fields, field{name: 2, value: method})
	}
	fields = append(fields, field{static: 6}, field{name: 1, value: auth}) // :scheme http, :authority
	if path == "/" {
		fields = append(fields, field{static: 4})
	} else {
		fields = append(fields, field{name: 4, value: path})
	}
	if req.Body != nil {
		fields = append(fields, field{name: 28, value: strconv.Itoa(len(req.Body))}) // content-length
	}
	fields = append(fields, field{name: 58, value: "h2c-bench"}) // user-agent
	var dynamic int
	for _, f := range fields {
		if f.static == 0 {
			dynamic++
		}
	}
	// After the first block the k-th of n inserted entries (from 0) has
	// index 62 + n-1-k: the newest entry is 62 (§2.3.3).
	k := 0
	for _, f := range fields {
		if f.static != 0 {
			first = appendInt(first, 0x80, 7, uint64(f.static))
			next = appendInt(next, 0x80, 7, uint64(f.static))
			continue
		}
		first = appendInt(first, 0x40, 6, uint64(f.name))
		first = appendInt(first, 0x00, 7, uint64(len(f.value)))
		first = append(first, f.value...)
		next = appendInt(next, 0x80, 7, uint64(62+dynamic-1-k))
		k++
	}
	return first, next
}

// appendInt appends the integer representation of RFC 7541 §5.1 with an
// n-bit prefix whose high bits are first.
func appendInt(dst []byte, first byte, n uint, i uint64) []byte {
	k := uint64(1)<<n - 1
	if i < k {
		return append(dst, first|byte(i))
	}
	dst = append(dst, first|byte(k))
	i -= k
	for ; i >= 128; i >>= 7 {
		dst = append(dst, byte(0x80|i&0x7f))
	}
	return append(dst, byte(i))
}

// Run sends n requests, keeping up to the Conn's streams in flight, and
// returns when all n responses have ended. It allocates nothing once the
// server's HPACK context is warm.
func (c *Conn) Run(n int) error {
	sent, done := 0, uint64(0)
	start := c.Responses
	for {
		done = c.Responses - start
		if done == uint64(n) {
			return c.flush()
		}
		for sent < n && c.inflight < c.streams && int64(c.inflight) < c.maxStreams &&
			c.sendWin >= int64(len(c.body)) && c.streamInit >= int64(len(c.body)) {
			c.submit()
			sent++
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := c.readFrames(); err != nil {
			return err
		}
	}
}

// submit appends one request to the output.
func (c *Conn) submit() {
	id := c.nextID
	c.nextID += 2
	c.inflight++
	block := c.block
	if id == 1 {
		block = c.first
	}
	if c.body == nil {
		c.out = codec.AppendHeaders(c.out, id, true, true, block)
		return
	}
	c.out = codec.AppendHeaders(c.out, id, false, true, block)
	c.out = codec.AppendData(c.out, id, true, c.body)
	c.sendWin -= int64(len(c.body))
}

// flush writes the pending output.
func (c *Conn) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	c.Writes++
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err
}

// readFrames reads once and handles every complete frame.
func (c *Conn) readFrames() error {
	m, err := c.nc.Read(c.in[c.n:])
	c.Reads++
	if m == 0 && err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	c.n += m
	p := c.in[:c.n]
	for len(p) >= codec.FrameHeaderLen {
		h := codec.ParseFrameHeader(p)
		size := codec.FrameHeaderLen + int(h.Length)
		if size > len(c.in) {
			return fmt.Errorf("h2c: frame of %d bytes is larger than the read buffer", h.Length)
		}
		if len(p) < size {
			break
		}
		if err := c.frame(h, p[codec.FrameHeaderLen:size]); err != nil {
			return err
		}
		p = p[size:]
	}
	c.n = copy(c.in, p)
	return nil
}

// frame handles one frame; payload is valid until the next read.
func (c *Conn) frame(h codec.FrameHeader, payload []byte) error {
	if c.inHeaders && h.Type != codec.FrameContinuation {
		return errors.New("h2c: expected CONTINUATION")
	}
	switch h.Type {
	case codec.FrameData:
		c.BodyBytes += uint64(h.Length)
		c.recvd += int64(h.Length)
		if c.recvd >= updateThreshold {
			c.out = codec.AppendWindowUpdate(c.out, 0, uint32(c.recvd))
			c.recvd = 0
		}
		if h.Flags.Has(codec.FlagEndStream) {
			c.endStream()
		}
	case codec.FrameHeaders:
		f, err := codec.ParseHeaders(h, payload)
		if err != nil {
			return err
		}
		end := h.Flags.Has(codec.FlagEndStream)
		if !h.Flags.Has(codec.FlagEndHeaders) {
			c.hdr = append(c.hdr[:0], f.Fragment...)
			c.hdrEnd, c.inHeaders = end, true
			return nil
		}
		return c.headerBlock(f.Fragment, end)
	case codec.FrameContinuation:
		if !c.inHeaders {
			return errors.New("h2c: unexpected CONTINUATION")
		}
		c.hdr = append(c.hdr, payload...)
		if h.Flags.Has(codec.FlagEndHeaders) {
			c.inHeaders = false
			return c.headerBlock(c.hdr, c.hdrEnd)
		}
	case codec.FrameSettings:
		f, err := codec.ParseSettings(h, payload)
		if err != nil {
			return err
		}
		if f.Ack {
			return nil
		}
		for i := range f.Len() {
			s := f.At(i)
			switch s.ID {
			case codec.SettingHeaderTableSize:
				// Our blocks keep their entries in the server's table,
				// which must not shrink below the default.
				if s.Value < codec.DefaultHeaderTableSize {
					return fmt.Errorf("h2c: server's SETTINGS_HEADER_TABLE_SIZE %d is below %d", s.Value, codec.DefaultHeaderTableSize)
				}
			case codec.SettingInitialWindowSize:
				c.streamInit = int64(s.Value)
			case codec.SettingMaxConcurrentStreams:
				c.maxStreams = int64(s.Value)
			}
		}
		c.out = codec.AppendSettingsAck(c.out)
	case codec.FramePing:
		data, err := codec.ParsePing(h, payload)
		if err != nil {
			return err
		}
		if !h.Flags.Has(codec.FlagAck) {
			c.out = codec.AppendPing(c.out, true, data)
		}
	case codec.FrameWindowUpdate:
		inc, err := codec.ParseWindowUpdate(h, payload)
		if err != nil {
			return err
		}
		if h.StreamID == 0 {
			c.sendWin += int64(inc)
		}
	case codec.FrameRSTStream:
		code, _ := codec.ParseRSTStream(h, payload)
		return fmt.Errorf("h2c: RST_STREAM on stream %d: %v", h.StreamID, code)
	case codec.FrameGoAway:
		f, _ := codec.ParseGoAway(h, payload)
		return fmt.Errorf("h2c: GOAWAY %v (last stream %d)", f.Code, f.LastStreamID)
	}
	return nil
}

// headerBlock decodes a complete header block of a response.
func (c *Conn) headerBlock(block []byte, end bool) error {
	// Fast path: ":status: 200" as static index 8 (0x88), after any dynamic
	// table size updates, decoded only to keep the HPACK context in sync,
	// which allocates nothing for fields that do not enter the table.
	if statusIs200(block) {
		c.dec.SetEmitEnabled(false)
	} else {
		c.dec.SetEmitEnabled(true)
		c.status = ""
	}
	if _, err := c.dec.Write(block); err != nil {
		return err
	}
	if err := c.dec.Close(); err != nil {
		return err
	}
	if c.dec.EmitEnabled() && c.status != "" && c.status != "200" {
		if c.status[0] == '1' {
			return nil // interim response
		}
		c.Non200++
	}
	if end {
		c.endStream()
	}
	return nil
}

// statusIs200 reports whether the first field of block, after dynamic table
// size updates (RFC 7541 §6.3), is static-table entry 8, ":status: 200".
func statusIs200(block []byte) bool {
	for len(block) > 0 && block[0]&0xe0 == 0x20 {
		// skip the integer with its 5-bit prefix
		i := 1
		if block[0]&0x1f == 0x1f {
			for i < len(block) && block[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if i > len(block) {
			return false
		}
		block = block[i:]
	}
	return len(block) > 0 && block[0] == 0x88
}

func (c *Conn) endStream() {
	c.inflight--
	c.Responses++
}
