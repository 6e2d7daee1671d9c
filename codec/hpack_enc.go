package codec

import (
	"sync"
	"unsafe"

	"golang.org/x/net/http2/hpack"
)

// maxEncoderTableSize caps the dynamic table our encoder uses, whatever larger
// SETTINGS_HEADER_TABLE_SIZE the peer allows (RFC 7541 §4.2: the encoder may
// use less than the maximum).
const maxEncoderTableSize = 4096

// encEntry is one field of the encoder's dynamic table.
type encEntry struct {
	name, value string
}

// size is the entry's size as RFC 7541 §4.1 counts it.
func (en *encEntry) size() uint32 { return uint32(len(en.name) + len(en.value) + 32) }

// HeaderEncoder encodes the field blocks we send on one connection into a
// reused buffer. It owns the connection's HPACK encoding context. A block is
// encoded by Reset, Write* calls, and Bytes.
//
// The dynamic table is a ring of the fields this connection has indexed,
// searched newest first by comparing strings: no lookup maps, nothing held
// per connection until a field is indexed (responses carry a handful of
// fields, so a scan of the few entries beats hashing). Its eviction mirrors
// the peer decoder's exactly (RFC 7541 §4.4), which is all that indexing
// needs.
//
// A HeaderEncoder is not safe for concurrent use: the connection's write lock
// guards it. Encoding :status, fields already in the table, WriteFieldNoIndex
// and WriteContentLength allocates nothing.
type HeaderEncoder struct {
	out []byte  // the block being encoded
	buf *[]byte // out's pooled buffer, nil after Release

	// dynamic table: ring[(head+i)&(len(ring)-1)] for i < n, oldest first;
	// len(ring) is zero or a power of two
	ring    []encEntry
	head, n uint32
	size    uint32 // sum of entry sizes
	// added counts the entries ever inserted: the entry inserted as the
	// s-th (from 0) is in the table while added-s <= n.
	added uint32
	// memo remembers, by the address of a value's bytes (two slots a
	// value), the insertion number plus one, modulo 256, of the entry that
	// field was last found in or added as: fields written again from the
	// same strings (constants, a cached Date) are found without a scan,
	// which on a table aged by a minute of Date entries is 60 of them.
	// Checked against the entry, so a stale or colliding slot only costs
	// the scan.
	memo    [16]uint8
	maxSize uint32 // the size the peer's decoder was last told (or 4096)

	// peer's SETTINGS_HEADER_TABLE_SIZE and the changes not yet signalled
	peerLimit   uint32 // last value the peer sent (initially 4096)
	sizePending bool
	// begun: a block was started; indexing: fields are added to the
	// table, from the second block on. A connection that carries one
	// response (most short-lived ones, and every health check) then
	// never allocates a table; one that carries more indexes its fields
	// one response later.
	begun, indexing bool
	sizeMin         uint32 // smallest size since the last block
	sizeFinal       uint32 // latest size
}

// NewHeaderEncoder returns an encoder with the initial dynamic table size of
// 4096 (RFC 9113 §6.5.2), ready for its first block.
func NewHeaderEncoder() *HeaderEncoder {
	e := new(HeaderEncoder)
	e.Init()
	return e
}

// Init is NewHeaderEncoder for an encoder the caller allocated (inside a
// connection object): it resets e to the initial state.
func (e *HeaderEncoder) Init() {
	*e = HeaderEncoder{peerLimit: DefaultHeaderTableSize, maxSize: min(DefaultHeaderTableSize, maxEncoderTableSize)}
}

// SetPeerMaxDynamicTableSize records the peer's SETTINGS_HEADER_TABLE_SIZE.
// The encoder uses min(n, 4096) and signals a change with a dynamic table
// size update at the start of the next block (the next Reset), preceded by
// the smallest size since the last block when the size went down and up
// again. RFC 7541 §4.2: "This dynamic table size update MUST occur at the
// beginning of the first header block following the change to the dynamic
// table size." A reduction of n is signalled even when our table already
// fits, because the peer must reject a block without one (RFC 9113 §4.3.1).
func (e *HeaderEncoder) SetPeerMaxDynamicTableSize(n uint32) {
	v := min(n, maxEncoderTableSize)
	reduced := n < e.peerLimit
	e.peerLimit = n
	switch {
	case e.sizePending:
		e.sizeMin = min(e.sizeMin, v)
	case !reduced && v == e.maxSize:
		return // nothing for the peer to learn
	default:
		e.sizePending, e.sizeMin = true, v
	}
	e.sizeFinal = v
}

// Reset starts a new block, discarding the previous one (its Bytes become
// invalid). It writes a pending dynamic table size update first.
func (e *HeaderEncoder) Reset() {
	if e.buf == nil {
		e.buf = blockBufs.Get().(*[]byte)
		e.out = *e.buf
	}
	e.out = e.out[:0]
	e.indexing = e.begun
	e.begun = true
	if !e.sizePending {
		return
	}
	e.sizePending = false
	e.setMaxSize(e.sizeMin)
	if e.sizeFinal != e.sizeMin {
		e.setMaxSize(e.sizeFinal)
	}
}

// setMaxSize writes a dynamic table size update (RFC 7541 §6.3) and evicts
// what no longer fits, as the peer's decoder will.
func (e *HeaderEncoder) setMaxSize(v uint32) {
	first := len(e.out)
	e.out = appendVarInt(e.out, 5, uint64(v))
	e.out[first] |= 0x20
	e.maxSize = v
	e.evictTo(v)
}

// evictTo drops the oldest entries until the table's size is at most limit.
func (e *HeaderEncoder) evictTo(limit uint32) {
	for e.size > limit && e.n > 0 {
		en := &e.ring[e.head]
		e.size -= en.size()
		*en = encEntry{} // let the strings go
		e.head = (e.head + 1) & uint32(len(e.ring)-1)
		e.n--
	}
}

// Bytes returns the encoded block. It is valid until the next Reset or
// Release.
func (e *HeaderEncoder) Bytes() []byte { return e.out }

// Release gives the block buffer back to a pool that all encoders share,
// so that a connection between responses holds none; the next Reset takes
// one again. The dynamic table is kept. Bytes is invalid afterwards.
func (e *HeaderEncoder) Release() {
	if e.buf == nil {
		return
	}
	if cap(e.out) <= maxPooledBlock {
		*e.buf = e.out[:0]
		blockBufs.Put(e.buf)
	}
	e.buf, e.out = nil, nil
}

// maxPooledBlock is the capacity above which a block buffer is not kept
// for reuse (a block with large fields is rare).
const maxPooledBlock = 16 << 10

// blockBufs are the block buffers of encoders that are not encoding.
var blockBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// search returns the index (62 and up) of the newest dynamic entry equal to
// name: value, or 0 and the index of the newest entry named name (0 if
// none).
func (e *HeaderEncoder) search(name, value string) (exact, named uint64) {
	mask := len(e.ring) - 1
	newest := int(e.head) + int(e.n) - 1
	s := memoSlot(value)
	for _, i := range [2]int{s, s ^ 1} {
		if k, ok := e.memoAt(i); ok { // k = 0 is the newest
			en := &e.ring[(newest-k)&mask]
			if en.value == value && en.name == name {
				return uint64(staticTableLen + 1 + k), 0
			}
		}
	}
	for k := 0; k < int(e.n); k++ { // k = 0 is the newest
		en := &e.ring[(newest-k)&mask]
		if en.name != name {
			continue
		}
		if en.value == value {
			e.remember(s, e.added-uint32(k))
			return uint64(staticTableLen + 1 + k), 0
		}
		if named == 0 {
			named = uint64(staticTableLen + 1 + k)
		}
	}
	return 0, named
}

// add inserts name: value as the newest entry, evicting to make room (RFC
// 7541 §4.4). The caller has checked that it fits in maxSize.
func (e *HeaderEncoder) add(name, value string, size uint32) {
	e.evictTo(e.maxSize - size)
	if int(e.n) == len(e.ring) {
		e.grow()
	}
	e.ring[(e.head+e.n)&uint32(len(e.ring)-1)] = encEntry{name: name, value: value}
	e.n++
	e.size += size
	e.added++
	e.remember(memoSlot(value), e.added)
}

// memoAt returns the position (0: the newest) of the entry memo slot i
// names, if it may still be in the table.
func (e *HeaderEncoder) memoAt(i int) (int, bool) {
	m := e.memo[i]
	if m == 0 {
		return 0, false
	}
	k := int(uint8(e.added) - m)
	return k, k < int(e.n)
}

// remember records insertion number v (plus one) for a value whose first
// memo slot is s: in s, or in its pair if s names an entry still in the
// table and the pair does not.
func (e *HeaderEncoder) remember(s int, v uint32) {
	if _, live := e.memoAt(s); live {
		if _, other := e.memoAt(s ^ 1); !other {
			s ^= 1
		}
	}
	e.memo[s] = uint8(v)
}

// memoSlot picks a memo slot pair by the address of s's bytes.
func memoSlot(s string) int {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return int((p>>3 ^ p>>7 ^ p>>11) & 15)
}

// grow doubles the ring (2 entries at first: a response's content-type
// and date, on most connections), keeping the order.
func (e *HeaderEncoder) grow() {
	ring := make([]encEntry, max(2, 2*len(e.ring)))
	for i := uint32(0); i < e.n; i++ {
		ring[i] = e.ring[(e.head+i)&uint32(len(e.ring)-1)]
	}
	e.ring, e.head = ring, 0
}

// WriteField writes name: value, from the dynamic table when an equal field
// is there, otherwise as a literal with incremental indexing when it fits
// in the table (without indexing when it does not, or in the encoder's
// first block). The dynamic table retains the strings: pass immutable
// ones. name must be lowercase.
func (e *HeaderEncoder) WriteField(name, value string) {
	exact, named := e.search(name, value)
	if exact != 0 {
		e.appendIndexed(exact)
		return
	}
	if i := staticPairIndex(name, value); i != 0 {
		e.appendIndexed(uint64(i))
		return
	}
	if named == 0 {
		named = uint64(staticNameIndex[name])
	}
	size := uint32(len(name)) + uint32(len(value)) + 32
	if !e.indexing || uint64(len(name))+uint64(len(value))+32 > uint64(e.maxSize) {
		// The first block, or too large to index: a literal without
		// indexing (RFC 7541 §6.2.2).
		e.appendLiteral(0x00, 4, named, name, value)
		return
	}
	// Literal with incremental indexing (RFC 7541 §6.2.1): 01 + 6-bit index.
	e.appendLiteral(0x40, 6, named, name, value)
	e.add(name, value, size)
}

// WriteSensitive writes name: value as a never-indexed literal (RFC 7541
// §6.2.3), for values intermediaries must not compress either (credentials,
// RFC 7541 §7.1.3). name must be lowercase.
func (e *HeaderEncoder) WriteSensitive(name, value string) {
	exact, named := e.search(name, "")
	if named == 0 {
		named = exact
	}
	if named == 0 {
		named = uint64(staticNameIndex[name])
	}
	e.appendLiteral(0x10, 4, named, name, value)
}

// appendIndexed writes an indexed field (RFC 7541 §6.1).
func (e *HeaderEncoder) appendIndexed(i uint64) {
	first := len(e.out)
	e.out = appendVarInt(e.out, 7, i)
	e.out[first] |= 0x80
}

// appendLiteral writes a literal field representation: pattern in the
// first byte with an n-bit name index, then the name (when the index is 0)
// and the value as string literals.
func (e *HeaderEncoder) appendLiteral(pattern byte, n uint, index uint64, name, value string) {
	first := len(e.out)
	e.out = appendVarInt(e.out, n, index)
	e.out[first] |= pattern
	if index == 0 {
		e.out = appendString(e.out, name)
	}
	e.out = appendString(e.out, value)
}

// appendString appends s as an HPACK string literal (RFC 7541 §5.2),
// Huffman-coded when that is shorter.
func appendString(dst []byte, s string) []byte {
	if n := hpack.HuffmanEncodeLength(s); n < uint64(len(s)) {
		first := len(dst)
		dst = appendVarInt(dst, 7, n)
		dst[first] |= 0x80
		return hpack.AppendHuffmanString(dst, s)
	}
	dst = appendVarInt(dst, 7, uint64(len(s)))
	return append(dst, s...)
}

// staticTableLen is the number of entries in the static table.
const staticTableLen = len(staticTable)

// staticPairIndex returns the static table index of name: value when the
// static table has that exact pair (only names it lists with values do:
// the pseudo-header fields and accept-encoding), 0 otherwise.
func staticPairIndex(name, value string) int {
	if value == "" || (name[0] != ':' && name != "accept-encoding") {
		return 0
	}
	for i := 0; i < 16; i++ {
		if staticTable[i].name == name && staticTable[i].value == value {
			return i + 1
		}
	}
	return 0
}

// WriteFieldNoIndex writes name: value as a literal without indexing (RFC 7541
// §6.2.2): value is copied and never enters the dynamic table. The name is
// indexed when the static table has it. name must be lowercase. It allocates
// nothing (beyond growing the buffer); the value is not Huffman-coded.
func (e *HeaderEncoder) WriteFieldNoIndex(name string, value []byte) {
	e.out = appendLiteralName(e.out, name)
	e.out = appendVarInt(e.out, 7, uint64(len(value)))
	e.out = append(e.out, value...)
}
