package codec

import (
	"sync"

	"golang.org/x/net/http2/hpack"
)

// The HeaderDecoder's own HPACK decoding (RFC 7541): representations are
// parsed here and only Huffman strings are decoded by x/net's hpack
// (HuffmanDecodeToString). What this saves, for every connection, against an
// hpack.Decoder: the decoder object and its emit closure, and 8 bytes per
// dynamic table entry; the table is a ring of name/value strings, nothing
// else. Like hpack.Decoder, a literal costs one string per name or value it
// carries, an indexed field nothing.
//
// The decoding errors, each a connection error of type COMPRESSION_ERROR
// (RFC 9113 §4.3):
//
//   - index 0 (§6.1), an index past both tables (§2.3.3), of a field or of a
//     name: lookup;
//   - a dynamic table size update above the limit (§6.3), a third one (§4.2),
//     none after a reduction of the limit (§4.2, RFC 9113 §4.3.1):
//     leadingUpdates; one after a field representation (§4.2): field;
//   - an integer longer than 10 octets (§5.1): hpackInt;
//   - a string longer than maxStringLen, declared or once decoded: field and
//     decodeString;
//   - an invalid Huffman string, EOS or bad padding (§5.2): HuffmanDecode for
//     the strings decoded, the huffmanCheck walk for those that are not;
//   - a block that ends inside a representation: End.

// decEntry is one field of the decoder's dynamic table.
type decEntry struct {
	name, value string
}

// Connection errors found while decoding representations.
var (
	errIndexZero  = connErr(ErrCodeCompression, "hpack: index 0")
	errIndexRange = connErr(ErrCodeCompression, "hpack: index past the static and dynamic tables")
	errHuffman    = connErr(ErrCodeCompression, "hpack: invalid Huffman-coded string literal")
)

// partBufs hold the start of a representation split across fragments (a
// field block continued in CONTINUATION frames), while it is incomplete.
var partBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// decode decodes the representations of fragment (after the leading size
// updates), with what an earlier fragment left of a split one.
func (d *HeaderDecoder) decode(fragment []byte) error {
	data := fragment
	if d.part != nil {
		*d.part = append(*d.part, fragment...)
		data = *d.part
	}
	off := 0
	for off < len(data) {
		n, err := d.field(data[off:])
		if err != nil {
			return err
		}
		if n == 0 {
			break // the representation goes on in the next fragment
		}
		off += n
	}
	rest := data[off:]
	switch {
	case len(rest) == 0:
		d.dropPart()
	case d.part == nil:
		d.part = partBufs.Get().(*[]byte)
		*d.part = append((*d.part)[:0], rest...)
	default:
		*d.part = (*d.part)[:copy(*d.part, rest)]
	}
	return nil
}

// dropPart gives the buffer of a split representation back.
func (d *HeaderDecoder) dropPart() {
	if p := d.part; p != nil {
		d.part = nil
		if cap(*p) <= 64<<10 {
			*p = (*p)[:0]
			partBufs.Put(p)
		}
	}
}

// field decodes the representation at the start of b and returns its
// length, or 0 if b ends inside it. Strings are checked against the length
// bound as soon as their length is known, so an incomplete representation
// kept for the next fragment is bounded too.
func (d *HeaderDecoder) field(b []byte) (int, error) {
	c := b[0]
	if c >= 0x80 { // 1xxx xxxx: indexed field (RFC 7541 §6.1)
		idx, n := hpackInt(b, 0x7f)
		if n <= 0 {
			return 0, intError(n)
		}
		name, value, err := d.lookup(idx)
		if err != nil {
			return 0, err
		}
		if d.emit {
			d.onField(hpack.HeaderField{Name: name, Value: value})
		}
		return n, nil
	}
	mask, index := byte(0x0f), false
	switch {
	case c >= 0x40: // 01xx xxxx: literal with incremental indexing (§6.2.1), 6-bit name index
		mask, index = 0x3f, true
	case c >= 0x20: // 001x xxxx: dynamic table size update (§6.3)
		// RFC 7541 §4.2: "This dynamic table size update MUST occur at the
		// beginning of the first header block following the change to the
		// dynamic table size." The leading ones never get here
		// (leadingUpdates consumes them), so this one follows a field.
		return 0, errSizeUpdateNotAtStart
	}
	// 000x xxxx: literal without indexing (§6.2.2) or never indexed (§6.2.3),
	// 4-bit name index
	idx, n := hpackInt(b, mask)
	if n <= 0 {
		return 0, intError(n)
	}
	nameAt, nameEnd := 0, 0
	if idx == 0 {
		nameAt, nameEnd = n, 0
		end, err := d.stringEnd(b, n)
		if end == 0 {
			return 0, err
		}
		n, nameEnd = end, end
	}
	valueAt := n
	end, err := d.stringEnd(b, n)
	if end == 0 {
		return 0, err
	}
	// The representation is complete: decode it.
	store := index || d.emit
	// A literal that does not enter the table lives only as long as the
	// block: in its arena, if it has one.
	own := !index && d.emit && cap(d.dst.arena) > 0
	var name, value string
	if idx != 0 {
		if name, _, err = d.lookup(idx); err != nil {
			return 0, err
		}
	} else if name, err = d.decodeString(b[nameAt:nameEnd], store, own); err != nil {
		return 0, err
	}
	if value, err = d.decodeString(b[valueAt:end], store, own); err != nil {
		return 0, err
	}
	if index {
		d.add(name, value)
	}
	if d.emit {
		d.onField(hpack.HeaderField{Name: name, Value: value, Sensitive: c&0xf0 == 0x10})
	}
	return end, nil
}

// stringEnd returns where the string literal at b[at:] ends, or 0 if b ends
// inside it; a declared length above the bound is an error at once.
func (d *HeaderDecoder) stringEnd(b []byte, at int) (int, error) {
	if at >= len(b) {
		return 0, nil
	}
	l, n := hpackInt(b[at:], 0x7f)
	if n <= 0 {
		return 0, intError(n)
	}
	if l > uint64(maxStringLen(d.maxListSize)) {
		return 0, errStringTooLong
	}
	if end := at + n + int(l); end <= len(b) {
		return end, nil
	}
	return 0, nil
}

// decodeString returns the string literal s (its length octets included)
// as a string if store is set, in the block's arena if own is set and it
// fits there; otherwise it only checks a Huffman-coded one and returns "".
func (d *HeaderDecoder) decodeString(s []byte, store, own bool) (string, error) {
	huff := s[0]&0x80 != 0
	_, n := hpackInt(s, 0x7f)
	raw := s[n:]
	if !store {
		if huff {
			if st, ok := huffmanWalk(0, raw); !ok || !huffmanTable().accept[st] {
				return "", errHuffmanSkipped // RFC 7541 §5.2, quoted at huffmanWalk
			}
		}
		return "", nil
	}
	if own {
		if v, ok, err := d.dst.arenaString(raw, huff); ok || err != nil {
			if len(v) > maxStringLen(d.maxListSize) {
				return "", errStringTooLong
			}
			return v, err
		}
	}
	if !huff {
		return string(raw), nil
	}
	v, err := hpack.HuffmanDecodeToString(raw)
	if err != nil {
		// RFC 7541 §5.2: "A Huffman-encoded string literal containing the
		// EOS symbol MUST be treated as a decoding error", as must padding
		// longer than 7 bits or not the most significant bits of EOS.
		return "", errHuffman
	}
	if len(v) > maxStringLen(d.maxListSize) {
		return "", errStringTooLong
	}
	return v, nil
}

// lookup returns the field at index idx of the static and dynamic tables
// (RFC 7541 §2.3.3).
func (d *HeaderDecoder) lookup(idx uint64) (name, value string, err error) {
	switch {
	case idx == 0:
		// RFC 7541 §6.1: "The index value of 0 is not used. It MUST be
		// treated as a decoding error if found in an indexed header field
		// representation."
		return "", "", errIndexZero
	case idx <= uint64(len(staticTable)):
		e := &staticTable[idx-1]
		return e.name, e.value, nil
	}
	// §2.3.3: "Indices strictly greater than the sum of the lengths of both
	// tables MUST be treated as a decoding error."
	k := idx - uint64(len(staticTable)) - 1 // 0 is the newest entry
	if k >= uint64(d.n) {
		return "", "", errIndexRange
	}
	e := &d.ring[(d.head+d.n-1-uint32(k))&uint32(len(d.ring)-1)]
	return e.name, e.value, nil
}

// add inserts name: value as the newest entry (RFC 7541 §4.4): older
// entries are evicted until it fits, and an entry larger than the table
// empties it and is not added ("an attempt to add an entry larger than the
// maximum size causes the table to be emptied of all existing entries and
// results in an empty table").
func (d *HeaderDecoder) add(name, value string) {
	size := uint64(len(name)) + uint64(len(value)) + 32
	if size > uint64(d.tabMax) {
		d.evictTo(0)
		return
	}
	d.evictTo(d.tabMax - uint32(size))
	if int(d.n) == len(d.ring) {
		ring := make([]decEntry, max(2, 2*len(d.ring)))
		for i := uint32(0); i < d.n; i++ {
			ring[i] = d.ring[(d.head+i)&uint32(len(d.ring)-1)]
		}
		d.ring, d.head = ring, 0
	}
	d.ring[(d.head+d.n)&uint32(len(d.ring)-1)] = decEntry{name, value}
	d.n++
	d.tabSize += uint32(size)
}

// evictTo drops the oldest entries until the table's size is at most limit.
func (d *HeaderDecoder) evictTo(limit uint32) {
	for d.tabSize > limit && d.n > 0 {
		e := &d.ring[d.head]
		d.tabSize -= uint32(len(e.name) + len(e.value) + 32)
		*e = decEntry{} // let the strings go
		d.head = (d.head + 1) & uint32(len(d.ring)-1)
		d.n--
	}
	if d.n == 0 && len(d.ring) > 8 {
		d.ring, d.head = nil, 0 // a table emptied on purpose gives its memory back
	}
}

// setTableMax applies a dynamic table size update (RFC 7541 §4.3: "a
// reduction of the maximum size of the dynamic table can cause entries to
// be evicted").
func (d *HeaderDecoder) setTableMax(v uint32) {
	d.tabMax = v
	d.evictTo(v)
}
