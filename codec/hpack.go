package codec

import (
	"errors"
	"math"
	"strconv"
	"unsafe"

	"golang.org/x/net/http2/hpack"
)

// HPACK (RFC 7541), with golang.org/x/net/http2/hpack's Huffman code:
// HeaderDecoder decodes a field block into a reused HeaderBlock, validating
// it as it goes (hpack_dec.go, validate.go); HeaderEncoder writes response
// field blocks into a pooled buffer (hpack_enc.go).

// HeaderBlock is a decoded field block, reused across blocks (Reset keeps
// capacity).
//
// Strings come from the HPACK decoder (static/dynamic table strings or freshly
// allocated literals), never from the input buffer, so they stay valid after
// the input is released; they are immutable and may be kept as long as
// needed. The Fields slice itself is reused by the next Reset.
//
// The exception is a block given an arena (SetArena): the strings of
// literal fields that do not enter the dynamic table (sent "without
// indexing" or "never indexed", as nghttp2's clients send every :path and
// content-length) are then decoded into it, without allocating, and are
// valid only until the next Reset. Whoever keeps one longer, or stores it
// where it outlives the block (an HPACK encoder's dynamic table), must
// copy it: InArena tells which.
type HeaderBlock struct {
	Method, Scheme, Authority, Path, Protocol string // request pseudo-headers, "" when absent

	Status        int                 // response :status, 0 when absent
	Fields        []hpack.HeaderField // regular fields in arrival order (each cookie crumb its own field)
	ContentLength int64               // value of content-length, -1 when absent
	Size          uint32              // header list size as §6.5.2 counts it (name + value + 32 per field), pseudo-headers included

	arena []byte // SetArena's buffer: its bytes up to len are in use
}

// Reset empties the block, keeping the capacity of Fields and the arena
// (whose strings are then invalid).
func (b *HeaderBlock) Reset() {
	clear(b.Fields) // drop references to the old strings
	*b = HeaderBlock{Fields: b.Fields[:0], ContentLength: -1, arena: b.arena[:0]}
}

// SetArena gives the block buf's capacity for the strings of literal
// fields that do not enter the dynamic table (see HeaderBlock); one that
// does not fit is allocated. Call it between blocks.
func (b *HeaderBlock) SetArena(buf []byte) { b.arena = buf[:0] }

// HasArena reports whether the block has an arena (SetArena).
func (b *HeaderBlock) HasArena() bool { return cap(b.arena) > 0 }

// InArena reports whether s is stored in the block's arena (false for a nil
// block).
func (b *HeaderBlock) InArena(s string) bool {
	if b == nil || len(s) == 0 || cap(b.arena) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(b.arena)))
	return p >= base && p < base+uintptr(cap(b.arena))
}

// arenaString decodes the string literal raw (Huffman-coded if huff) into
// the arena; ok is false if it may not fit.
func (b *HeaderBlock) arenaString(raw []byte, huff bool) (_ string, ok bool, err error) {
	need := len(raw)
	if huff {
		need = len(raw) * 8 / 5 // no code is shorter than five bits
	}
	a := b.arena
	if cap(a)-len(a) < need {
		return "", false, nil
	}
	start := len(a)
	if huff {
		if a, ok = huffmanDecodeAppend(a, raw); !ok {
			return "", false, errHuffman
		}
	} else {
		a = append(a, raw...)
	}
	b.arena = a
	if len(a) == start {
		return "", true, nil
	}
	return unsafe.String(&a[start], len(a)-start), true, nil
}

// Get returns the value of the first regular field named name, which must be
// lowercase, and whether there is one.
func (b *HeaderBlock) Get(name string) (string, bool) {
	for i := range b.Fields {
		if b.Fields[i].Name == name {
			return b.Fields[i].Value, true
		}
	}
	return "", false
}

// ErrHeaderListTooLarge is returned by HeaderDecoder.End when the block
// exceeded the decoder's max header list size (SETTINGS_MAX_HEADER_LIST_SIZE,
// RFC 9113 §6.5.2). The connection stays usable: the server answers 431 or
// resets the stream (RFC 9113 §10.5.1).
var ErrHeaderListTooLarge = errors.New("codec: header list larger than SETTINGS_MAX_HEADER_LIST_SIZE")

// errStringTooLong replaces hpack.ErrStringLength: a single name or value
// longer than the whole header list limit. The HPACK decoder cannot skip such
// a string and stay in sync, so the connection ends.
var errStringTooLong = connErr(ErrCodeCompression, "header field string longer than SETTINGS_MAX_HEADER_LIST_SIZE")

// HeaderDecoder decodes the field blocks a peer sends on one connection. It
// owns the connection's HPACK decoding context (RFC 7541 §2.2). A block is
// decoded by Begin, one Write per HEADERS/CONTINUATION fragment, and End.
//
// A HeaderDecoder is used by one goroutine at a time (the connection's read
// loop). Decoding a block whose fields are all indexed allocates nothing; each
// literal name or value costs one string.
type HeaderDecoder struct {
	// Fields are ordered by size (no padding): a decoder lives inside every
	// connection.

	// the dynamic table (RFC 7541 §2.3.2, hpack_dec.go):
	// ring[(head+i)&(len(ring)-1)] for i < n, oldest first; len(ring) is
	// zero or a power of two
	ring    []decEntry
	head, n uint32
	tabSize uint32 // sum of entry sizes
	tabMax  uint32 // the size the last size update set (initially the limit)

	// per-block state, reset by Begin
	dst       *HeaderBlock // nil: decode only to keep the table in sync
	size      uint64       // header list size so far (§6.5.2)
	malformed string       // first validation failure, "" if none
	part      *[]byte      // pooled: a representation split across fragments, nil otherwise

	// valid holds field values (8 to 128 bytes) found valid lately: a
	// value the HPACK dynamic table hands out again (an indexed field, the
	// same string each time) is not scanned again. Holding the strings
	// keeps their memory, so the same pointer and length mean the same
	// bytes; mostly they are the table's own, and at worst 256 bytes. A
	// string in a block's arena is never held: its bytes change with the
	// next block.
	valid [2]string

	// sticky: once the HPACK context is broken the connection must end
	err error

	// settings, changed between blocks
	maxListSize uint32 // SETTINGS_MAX_HEADER_LIST_SIZE we enforce
	tableLimit  uint32 // SETTINGS_HEADER_TABLE_SIZE in force
	minLimit    uint32 // while needUpdate: the smallest tableLimit since the last block
	needUpdate  bool   // tableLimit was lowered: the next block must start with a size update to at most minLimit

	// per-block state, reset by Begin
	streamID  uint32
	kind      BlockKind
	emit      bool  // fields are decoded and validated (dst is set and the block within the limit)
	tooLarge  bool  // size crossed maxListSize; fields no longer stored
	regular   bool  // a regular field has been seen
	pseudo    uint8 // pseudo-header fields seen (pseudoMethod, ...)
	atStart   bool  // still in the leading dynamic table size updates
	updates   uint8 // leading size updates seen
	npend     uint8 // bytes of a size update split across fragments
	pend      [maxUpdateLen]byte
	validNext uint8 // the slot of valid to fill next
}

// NewHeaderDecoder returns a decoder whose dynamic table may grow up to
// maxDynamicTableSize (the SETTINGS_HEADER_TABLE_SIZE we advertise; until the
// peer acknowledges our first SETTINGS it uses the default 4096, so pass
// DefaultHeaderTableSize here and the advertised value to
// SetMaxDynamicTableSize on the acknowledgement) and which rejects header
// lists larger than maxHeaderListSize.
func NewHeaderDecoder(maxDynamicTableSize, maxHeaderListSize uint32) *HeaderDecoder {
	d := new(HeaderDecoder)
	d.Init(maxDynamicTableSize, maxHeaderListSize)
	return d
}

// Init is NewHeaderDecoder for a decoder the caller allocated (inside a
// connection object); d must be zero and must not be copied afterwards.
func (d *HeaderDecoder) Init(maxDynamicTableSize, maxHeaderListSize uint32) {
	d.tableLimit = maxDynamicTableSize
	d.tabMax = maxDynamicTableSize
	d.SetMaxHeaderListSize(maxHeaderListSize)
}

// SetMaxHeaderListSize sets the largest header list size (RFC 9113 §6.5.2:
// names plus values plus 32 per field, uncompressed) a block may have; larger
// blocks make End return ErrHeaderListTooLarge. Call it between blocks.
//
// A single name or value longer than 4n+64 KiB is a connection error
// (COMPRESSION_ERROR) from Write: the HPACK decoder has to buffer a string
// whole before it can move past it, and that bounds the buffer. Strings
// between n and that bound are decoded (keeping the connection's HPACK state
// in sync) and make the block too large, so the stream alone is answered.
func (d *HeaderDecoder) SetMaxHeaderListSize(n uint32) {
	d.maxListSize = n
}

// maxStringLen is the longest name or value the HPACK decoder accepts under a
// header list limit of n; it buffers at most about twice that.
func maxStringLen(n uint32) int {
	return int(min(4*uint64(n)+64<<10, math.MaxInt32))
}

// SetMaxDynamicTableSize sets the limit of our dynamic table, the value we
// advertise in SETTINGS_HEADER_TABLE_SIZE. Call it when the peer acknowledges
// the SETTINGS frame that carried n (RFC 9113 §6.5.3), between blocks.
//
// From then on a dynamic table size update above n is a COMPRESSION_ERROR:
// RFC 7541 §6.3: "The new maximum size MUST be lower than or equal to the
// limit determined by the protocol using HPACK. A value that exceeds this
// limit MUST be treated as a decoding error." When n is lower than before,
// the table is cut to n at once (bounding memory), and the next block must
// start with a size update: RFC 9113 §4.3.1: "An endpoint MUST treat a field
// block that follows an acknowledgment of the reduction to the maximum
// dynamic table size as a connection error (Section 5.4.1) of type
// COMPRESSION_ERROR if it does not start with a conformant Dynamic Table Size
// Update instruction." Conformant means one of its leading updates is at
// most the smallest limit set since the last block, when several calls
// come between two blocks (RFC 7541 §4.2: "In the case that this size is
// changed more than once in this interval, the smallest maximum table size
// that occurs in that interval MUST be signaled in a dynamic table size
// update.").
func (d *HeaderDecoder) SetMaxDynamicTableSize(n uint32) {
	if n < d.tableLimit {
		d.setTableMax(n)
		if !d.needUpdate || n < d.minLimit {
			d.minLimit = n
		}
		d.needUpdate = true
	}
	d.tableLimit = n
}

// Begin starts decoding a field block of stream streamID into dst, which is
// Reset. dst may be nil to decode a block only to keep the dynamic table in
// sync (RFC 9113 §4.3: a block for a stream being discarded must still be
// processed): nothing is stored or validated then and End reports only HPACK
// errors. dst must not be used until End returns.
func (d *HeaderDecoder) Begin(streamID uint32, kind BlockKind, dst *HeaderBlock) {
	if dst != nil {
		dst.Reset()
	}
	d.dst, d.streamID, d.kind = dst, streamID, kind
	d.size, d.tooLarge, d.regular, d.pseudo, d.malformed = 0, false, false, 0, ""
	d.atStart, d.updates, d.npend = true, 0, 0
	d.emit = dst != nil
	d.dropPart()
}

// Write decodes one HEADERS, PUSH_PROMISE or CONTINUATION fragment of the
// current block. The fragment is not retained after Write returns.
//
// A decoding error is a *ConnError with Code ErrCodeCompression; the decoder
// is unusable afterwards and every later call returns the same error.
// RFC 9113 §4.3: "A decoding error in a field block MUST be treated as a
// connection error (Section 5.4.1) of type COMPRESSION_ERROR."
func (d *HeaderDecoder) Write(fragment []byte) error {
	if d.err != nil {
		return d.err
	}
	if d.atStart {
		var err error
		if fragment, err = d.leadingUpdates(fragment); err != nil {
			d.err = err
			return err
		}
	}
	if err := d.decode(fragment); err != nil {
		d.err = err
		d.dropPart()
		return err
	}
	return nil
}

// End finishes the block. It returns, in this order of precedence:
//   - *ConnError COMPRESSION_ERROR if the block is truncated or invalid HPACK
//     (the connection must end);
//   - ErrHeaderListTooLarge if the block crossed the max header list size;
//     dst then holds only the fields before the crossing, and dst.Size counts
//     them plus the field that crossed;
//   - *StreamError{StreamID, ErrCodeProtocol, reason} if the block is
//     malformed (RFC 9113 §8.1.1, §8.2, §8.3); dst may be incomplete;
//   - nil: dst holds the whole, valid block.
func (d *HeaderDecoder) End() error {
	if d.err != nil {
		return d.err
	}
	if d.atStart && (d.npend > 0 || d.needUpdate) {
		d.err = errSizeUpdateTruncated
		if d.npend == 0 {
			d.err = errSizeUpdateMissing
		}
		return d.err
	}
	if d.part != nil {
		d.dropPart()
		d.err = errFieldTruncated
		return d.err
	}
	if d.dst == nil {
		return nil
	}
	var err error
	if d.tooLarge {
		err = ErrHeaderListTooLarge
	} else {
		if d.malformed == "" {
			d.malformed = d.checkBlock()
		}
		if d.malformed != "" {
			err = &StreamError{StreamID: d.streamID, Code: ErrCodeProtocol, Reason: d.malformed}
		}
	}
	d.dst = nil
	return err
}

// maxUpdateLen is the longest dynamic table size update we parse: a 5-bit
// prefix and five continuation bytes hold any uint32 (RFC 7541 §5.1).
const maxUpdateLen = 6

// Connection errors of the leading dynamic table size updates (RFC 7541 §4.2,
// §6.3; RFC 9113 §4.3.1).
var (
	errSizeUpdateTooLarge  = connErr(ErrCodeCompression, "dynamic table size update above SETTINGS_HEADER_TABLE_SIZE")
	errSizeUpdateMissing   = connErr(ErrCodeCompression, "field block after a reduced SETTINGS_HEADER_TABLE_SIZE without a dynamic table size update to the reduced size")
	errSizeUpdateCount     = connErr(ErrCodeCompression, "more than two dynamic table size updates at the start of a field block")
	errSizeUpdateTruncated = connErr(ErrCodeCompression, "truncated dynamic table size update")
)

// leadingUpdates consumes the dynamic table size updates at the start of a
// block, possibly split across fragments, and returns the rest of fragment
// for the HPACK decoder. We apply them ourselves because hpack.Decoder
// refuses a second update in a row while its table is not empty, although
// RFC 7541 §4.2 has an encoder send two (the smallest size since the last
// block, then the final one) when the size went down and up again:
// "The final maximum size is always signaled, resulting in at most two
// dynamic table size updates." A third is a decoding error: no conformant
// encoder sends one, and accepting any number would let a block be nothing
// but updates. An update after the first field is the scanner's to reject
// (fieldScanner).
func (d *HeaderDecoder) leadingUpdates(fragment []byte) ([]byte, error) {
	for len(fragment) > 0 {
		if d.npend == 0 && fragment[0]&0xe0 != 0x20 { // not 001xxxxx: the first field
			if d.needUpdate {
				return nil, errSizeUpdateMissing
			}
			d.atStart = false
			return fragment, nil
		}
		d.pend[d.npend] = fragment[0]
		d.npend++
		fragment = fragment[1:]
		v, done := parseSizeUpdate(d.pend[:d.npend])
		if !done {
			if int(d.npend) == len(d.pend) {
				return nil, errSizeUpdateTooLarge
			}
			continue
		}
		d.npend = 0
		// RFC 7541 §6.3: "The new maximum size MUST be lower than or equal
		// to the limit determined by the protocol using HPACK. A value that
		// exceeds this limit MUST be treated as a decoding error."
		if v > uint64(d.tableLimit) {
			return nil, errSizeUpdateTooLarge
		}
		if d.updates++; d.updates > 2 {
			return nil, errSizeUpdateCount
		}
		if d.needUpdate && v <= uint64(d.minLimit) {
			d.needUpdate = false // the reduction is signalled
		}
		d.setTableMax(uint32(v))
	}
	return fragment, nil
}

// parseSizeUpdate decodes the 5-bit-prefix integer of a dynamic table size
// update (RFC 7541 §6.3) from b, which holds at most maxUpdateLen bytes; done
// is false while more bytes are needed.
func parseSizeUpdate(b []byte) (v uint64, done bool) {
	v = uint64(b[0] & 0x1f)
	if v < 0x1f {
		return v, true
	}
	for i, c := range b[1:] {
		v += uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, true
		}
	}
	return 0, false
}

// onField is the hpack emit func: it counts the header list size and hands
// the field to validation while the block is within the limit.
func (d *HeaderDecoder) onField(f hpack.HeaderField) {
	b := d.dst
	if b == nil { // emit is disabled in discard mode; defensive
		return
	}
	d.size += uint64(len(f.Name)) + uint64(len(f.Value)) + 32
	b.Size = uint32(min(d.size, math.MaxUint32))
	if d.size > uint64(d.maxListSize) {
		// Stop storing (and stop decoding literal strings: hpack skips them
		// while emit is off) but keep decoding, so the dynamic table stays in
		// sync with the peer's.
		d.tooLarge = true
		d.emit = false
		return
	}
	if d.malformed == "" {
		d.malformed = d.acceptField(f)
	}
}

// compressionError turns an hpack error into a COMPRESSION_ERROR connection
// error.
func compressionError(err error) error {
	if errors.Is(err, hpack.ErrStringLength) {
		return errStringTooLong
	}
	return &ConnError{Code: ErrCodeCompression, Reason: "hpack: " + err.Error()}
}

// WriteStatus writes :status. 200, 204, 206, 304, 400, 404 and 500 are one
// byte (static table index); other codes in 100..999 a literal without
// indexing with the indexed name :status. A code outside 100..999 is written
// as 500. It allocates nothing.
func (e *HeaderEncoder) WriteStatus(code int) {
	switch code {
	case 200:
		e.out = append(e.out, 0x80|8)
		return
	case 204:
		e.out = append(e.out, 0x80|9)
		return
	case 206:
		e.out = append(e.out, 0x80|10)
		return
	case 304:
		e.out = append(e.out, 0x80|11)
		return
	case 400:
		e.out = append(e.out, 0x80|12)
		return
	case 404:
		e.out = append(e.out, 0x80|13)
		return
	case 500:
		e.out = append(e.out, 0x80|14)
		return
	}
	if code < 100 || code > 999 {
		e.out = append(e.out, 0x80|14)
		return
	}
	digits := [3]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)}
	// Literal Header Field without Indexing, indexed name (RFC 7541 §6.2.2):
	// 0000 + 4-bit name index; :status is static index 8.
	e.out = append(e.out, 8)
	e.out = appendDigitString(e.out, digits[:])
}

// WriteContentLength writes content-length: n as a literal without indexing
// with the indexed name (static index 28). A negative n writes nothing. It
// allocates nothing.
func (e *HeaderEncoder) WriteContentLength(n int64) {
	if n < 0 {
		return
	}
	var scratch [20]byte
	digits := strconv.AppendInt(scratch[:0], n, 10)
	// 0000 1111 (index 15 and more) then 28-15 = 13.
	e.out = append(e.out, 0x0f, 28-15)
	e.out = appendDigitString(e.out, digits)
}

// appendLiteralName appends the first byte(s) of a literal without indexing:
// the static index of name, or 0 and name as a string literal.
func appendLiteralName(dst []byte, name string) []byte {
	if i := staticNameIndex[name]; i != 0 {
		return appendVarInt(dst, 4, uint64(i))
	}
	return appendString(append(dst, 0), name)
}

// appendVarInt appends i as an HPACK integer with an n-bit prefix (RFC 7541
// §5.1); the caller ORs the representation's pattern into the first byte.
func appendVarInt(dst []byte, n uint, i uint64) []byte {
	limit := uint64(1)<<n - 1
	if i < limit {
		return append(dst, byte(i))
	}
	dst = append(dst, byte(limit))
	for i -= limit; i >= 0x80; i >>= 7 {
		dst = append(dst, byte(i)|0x80)
	}
	return append(dst, byte(i))
}

// huffmanDigit is the Huffman code of '0'..'9' (RFC 7541 Appendix B): five
// bits for 0-2, six bits for 3-9.
var huffmanDigit = [10]struct {
	code uint8
	bits uint8
}{{0x0, 5}, {0x1, 5}, {0x2, 5}, {0x19, 6}, {0x1a, 6}, {0x1b, 6}, {0x1c, 6}, {0x1d, 6}, {0x1e, 6}, {0x1f, 6}}

// appendDigitString appends digits ('0'..'9' only, at most 126 of them) as an
// HPACK string literal (RFC 7541 §5.2), Huffman-coded when that is shorter.
func appendDigitString(dst []byte, digits []byte) []byte {
	bits := 0
	for _, c := range digits {
		bits += int(huffmanDigit[c-'0'].bits)
	}
	n := (bits + 7) / 8
	if n >= len(digits) {
		dst = append(dst, byte(len(digits)))
		return append(dst, digits...)
	}
	dst = append(dst, 0x80|byte(n))
	var acc uint64
	nbits := uint(0)
	for _, c := range digits {
		h := huffmanDigit[c-'0']
		acc = acc<<h.bits | uint64(h.code)
		nbits += uint(h.bits)
		for nbits >= 8 {
			nbits -= 8
			dst = append(dst, byte(acc>>nbits))
		}
	}
	if nbits > 0 {
		// Pad with the most significant bits of EOS (all ones), RFC 7541 §5.2.
		dst = append(dst, byte(acc<<(8-nbits))|byte(0xff>>nbits))
	}
	return dst
}

// staticTable is the HPACK static table (RFC 7541 Appendix A), index i at
// staticTable[i-1].
var staticTable = [61]struct{ name, value string }{
	{":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
	{":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"},
	{":status", "200"}, {":status", "204"}, {":status", "206"}, {":status", "304"},
	{":status", "400"}, {":status", "404"}, {":status", "500"}, {"accept-charset", ""},
	{"accept-encoding", "gzip, deflate"}, {"accept-language", ""}, {"accept-ranges", ""},
	{"accept", ""}, {"access-control-allow-origin", ""}, {"age", ""}, {"allow", ""},
	{"authorization", ""}, {"cache-control", ""}, {"content-disposition", ""},
	{"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
	{"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
	{"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""}, {"from", ""}, {"host", ""},
	{"if-match", ""}, {"if-modified-since", ""}, {"if-none-match", ""}, {"if-range", ""},
	{"if-unmodified-since", ""}, {"last-modified", ""}, {"link", ""}, {"location", ""},
	{"max-forwards", ""}, {"proxy-authenticate", ""}, {"proxy-authorization", ""},
	{"range", ""}, {"referer", ""}, {"refresh", ""}, {"retry-after", ""}, {"server", ""},
	{"set-cookie", ""}, {"strict-transport-security", ""}, {"transfer-encoding", ""},
	{"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""},
}

// staticNameIndex maps a name to its lowest static table index.
var staticNameIndex = func() map[string]uint8 {
	m := make(map[string]uint8, len(staticTable))
	for i := len(staticTable) - 1; i >= 0; i-- {
		m[staticTable[i].name] = uint8(i + 1)
	}
	return m
}()
