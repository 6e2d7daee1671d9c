package client

import (
	"bytes"
	"errors"

	"golang.org/x/net/http2/hpack"
)

// This file holds the client's two halves of HPACK (RFC 7541):
//
//   - respDecoder decodes response field blocks without materialising any
//     name or value. A load generator needs only the :status code and the
//     decoded size of each block (for the header-compression savings of the
//     report), so the dynamic table stores, per entry, the decoded lengths of
//     name and value and the status code when the name is ":status". Nothing
//     is copied and nothing allocates, whatever the server sends.
//   - reqEncoder wraps golang.org/x/net/http2/hpack's Encoder and caches the
//     encoded block of each prepared request once it is made only of indexed
//     fields: such a block does not change the encoder's dynamic table, so it
//     stays valid until some other block does.

// Decoding errors. Each is a COMPRESSION_ERROR connection error (RFC 9113
// §4.3: "A decoding error in a field block MUST be treated as a connection
// error of type COMPRESSION_ERROR").
var (
	errHpackTruncated   = errors.New("hpack: truncated field block")
	errHpackIndex       = errors.New("hpack: invalid table index")
	errHpackInteger     = errors.New("hpack: integer overflow")
	errHpackSizeUpdate  = errors.New("hpack: dynamic table size update above the advertised limit")
	errHpackUpdateLate  = errors.New("hpack: dynamic table size update after the first field")
	errHpackHuffman     = errors.New("hpack: invalid Huffman-encoded string")
	errHpackStringLimit = errors.New("hpack: string longer than the field block")
)

// entryOverhead is the per-entry overhead of RFC 7541 §4.1: "The size of an
// entry is the sum of its name's length in octets (as defined in Section
// 5.2), its value's length in octets, and 32."
const entryOverhead = 32

// fieldInfo is what the client keeps of a header field: decoded lengths and,
// for ":status", the status code (0 for other names, -1 for a :status value
// that is not three digits).
type fieldInfo struct {
	nameLen, valueLen uint32
	status            int16
	isStatus          bool
}

// staticInfo describes the 61 entries of the static table (RFC 7541
// Appendix A). It is filled at init by decoding each index with x/net's
// decoder, so the table text lives in one place only.
var staticInfo [62]fieldInfo

// staticText holds the octets (name then value) of each static entry, for
// text mode.
var staticText [62][]byte

func init() {
	var got hpack.HeaderField
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { got = f })
	for i := 1; i <= 61; i++ {
		if _, err := d.Write([]byte{0x80 | byte(i)}); err != nil {
			panic("client: static table entry " + err.Error())
		}
		staticInfo[i] = makeInfo([]byte(got.Name), []byte(got.Value))
		staticText[i] = []byte(got.Name + got.Value)
	}
}

// makeInfo builds the fieldInfo of a decoded name and value.
func makeInfo(name, value []byte) fieldInfo {
	fi := fieldInfo{nameLen: uint32(len(name)), valueLen: uint32(len(value))}
	if string(name) == ":status" {
		fi.isStatus = true
		fi.status = parseStatus(value)
	}
	return fi
}

// parseStatus parses a three-digit status code, or returns -1.
func parseStatus(v []byte) int16 {
	if len(v) != 3 {
		return -1
	}
	n := int16(0)
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int16(c-'0')
	}
	return n
}

// respDecoder is a per-connection HPACK decoder for response field blocks.
// It keeps the dynamic table as lengths only (see fieldInfo) in a ring that
// grows only when the number of live entries exceeds its previous peak.
type respDecoder struct {
	// owned by the connection's reader
	limit   uint32 // SETTINGS_HEADER_TABLE_SIZE we advertised
	maxSize uint32 // current maximum set by size updates, <= limit
	size    uint32 // sum of entry sizes
	ring    []fieldInfo
	head    int // index of the newest entry
	n       int // live entries

	// the first octets of the last Huffman string decoded: enough for
	// ":status" (7) and a status code (3)
	huff [8]byte

	// Text mode (push enabled only): the table also keeps each entry's
	// octets (name then value) in texts, parallel to ring, so that the
	// fields of a promised request can be read back; emit, when set, gets
	// every field of the block being decoded. Off, none of this runs.
	text  bool
	texts [][]byte
	emit  func(name, value []byte)
	sbuf  []byte       // decoded name and value of the current literal
	hbuf  bytes.Buffer // Huffman decoding of one string
}

func newRespDecoder(limit uint32, text bool) respDecoder {
	d := respDecoder{limit: limit, maxSize: limit, ring: make([]fieldInfo, 16), text: text}
	if text {
		d.texts = make([][]byte, len(d.ring))
	}
	return d
}

// textAt returns the octets (name then value) of entry i, which at has
// found; text mode only.
func (d *respDecoder) textAt(i uint64) []byte {
	if i <= 61 {
		return staticText[i]
	}
	k := d.head - int(i-62)
	if k < 0 {
		k += len(d.ring)
	}
	return d.texts[k]
}

// at returns the entry of index i (1-based, static then dynamic).
func (d *respDecoder) at(i uint64) (fieldInfo, bool) {
	if i == 0 {
		return fieldInfo{}, false
	}
	if i <= 61 {
		return staticInfo[i], true
	}
	j := i - 62
	if j >= uint64(d.n) {
		return fieldInfo{}, false
	}
	k := d.head - int(j)
	if k < 0 {
		k += len(d.ring)
	}
	return d.ring[k], true
}

// evictTo drops the oldest entries until size <= max.
func (d *respDecoder) evictTo(max uint32) {
	for d.size > max && d.n > 0 {
		k := d.head - (d.n - 1)
		if k < 0 {
			k += len(d.ring)
		}
		e := d.ring[k]
		d.size -= e.nameLen + e.valueLen + entryOverhead
		d.n--
	}
}

// add inserts an entry (RFC 7541 §4.4: "Before a new entry is added to the
// dynamic table, entries are evicted from the end of the dynamic table until
// the size of the dynamic table is less than or equal to (maximum size - new
// entry size) or until the table is empty. If the size of the new entry is
// less than or equal to the maximum size, that entry is added to the table.
// It is not an error to attempt to add an entry that is larger than the
// maximum size; an attempt to add an entry larger than the maximum size
// causes the table to be emptied of all existing entries").
func (d *respDecoder) add(e fieldInfo, text []byte) {
	sz := uint64(e.nameLen) + uint64(e.valueLen) + entryOverhead
	if sz > uint64(d.maxSize) {
		d.evictTo(0)
		return
	}
	d.evictTo(d.maxSize - uint32(sz))
	if d.n == len(d.ring) {
		// grow: copy oldest..newest in order to the new ring
		nr := make([]fieldInfo, 2*len(d.ring))
		var nt [][]byte
		if d.text {
			nt = make([][]byte, len(nr))
		}
		for j := 0; j < d.n; j++ {
			k := d.head - (d.n - 1) + j
			if k < 0 {
				k += len(d.ring)
			}
			nr[j] = d.ring[k]
			if d.text {
				nt[j] = d.texts[k]
			}
		}
		d.ring, d.texts = nr, nt
		d.head = d.n - 1
	}
	d.head++
	if d.head == len(d.ring) {
		d.head = 0
	}
	d.ring[d.head] = e
	if d.text {
		d.texts[d.head] = append(d.texts[d.head][:0], text...)
	}
	d.n++
	d.size += uint32(sz)
}

// readInt decodes an integer with an n-bit prefix (RFC 7541 §5.1) from p,
// returning the value and the octets used.
func readInt(p []byte, n uint) (uint64, int, error) {
	if len(p) == 0 {
		return 0, 0, errHpackTruncated
	}
	mask := uint64(1)<<n - 1
	v := uint64(p[0]) & mask
	if v < mask {
		return v, 1, nil
	}
	m := uint(0)
	for i := 1; i < len(p); i++ {
		b := p[i]
		v += uint64(b&0x7f) << m
		m += 7
		if b&0x80 == 0 {
			return v, i + 1, nil
		}
		if m > 28 { // values above 2^32 are never needed here
			return 0, 0, errHpackInteger
		}
	}
	return 0, 0, errHpackTruncated
}

// readString measures a string literal (RFC 7541 §5.2) at p: it returns
// the decoded length, the first decoded octets in d.huff.head (or the raw
// octets), and the octets used.
func (d *respDecoder) readString(p []byte) (n int, raw []byte, used int, err error) {
	if len(p) == 0 {
		return 0, nil, 0, errHpackTruncated
	}
	huff := p[0]&0x80 != 0
	l, k, err := readInt(p, 7)
	if err != nil {
		return 0, nil, 0, err
	}
	if l > uint64(len(p)-k) {
		return 0, nil, 0, errHpackStringLimit
	}
	s := p[k : k+int(l)]
	used = k + int(l)
	if !huff {
		return len(s), s, used, nil
	}
	n, ok := huffmanCount(s, d.huff[:])
	if !ok {
		return 0, nil, 0, errHpackHuffman
	}
	return n, d.huff[:min(n, len(d.huff))], used, nil
}

// appendString decodes the string literal at p (text mode) onto d.sbuf and
// returns the octets used.
func (d *respDecoder) appendString(p []byte) (int, error) {
	huff := p[0]&0x80 != 0
	l, k, _ := readInt(p, 7) // measured by readString already
	s := p[k : k+int(l)]
	if !huff {
		d.sbuf = append(d.sbuf, s...)
		return k + int(l), nil
	}
	d.hbuf.Reset()
	if _, err := hpack.HuffmanDecode(&d.hbuf, s); err != nil {
		return 0, errHpackHuffman
	}
	d.sbuf = append(d.sbuf, d.hbuf.Bytes()...)
	return k + int(l), nil
}

// decode decodes one complete field block. It returns the first :status
// (0 when none, -1 when malformed) and the decoded size (sum of name and
// value lengths, as h2load counts it).
func (d *respDecoder) decode(p []byte) (status int, decoded int, err error) {
	first := true
	for len(p) > 0 {
		b := p[0]
		switch {
		case b&0x80 != 0: // indexed field (§6.1)
			i, k, err := readInt(p, 7)
			if err != nil {
				return 0, 0, err
			}
			e, ok := d.at(i)
			if !ok {
				return 0, 0, errHpackIndex
			}
			p = p[k:]
			decoded += int(e.nameLen + e.valueLen)
			if e.isStatus && status == 0 {
				status = int(e.status)
			}
			if d.emit != nil {
				t := d.textAt(i)
				d.emit(t[:e.nameLen], t[e.nameLen:])
			}
		case b&0xe0 == 0x20: // dynamic table size update (§6.3)
			// RFC 7541 §4.2: "This dynamic table size update MUST occur at
			// the beginning of the first header block following the change
			// to the dynamic table size."
			// Like x/net's decoder, a late update is tolerated while the
			// table is empty (it can have changed nothing yet).
			if !first && d.size > 0 {
				return 0, 0, errHpackUpdateLate
			}
			v, k, err := readInt(p, 5)
			if err != nil {
				return 0, 0, err
			}
			// RFC 7541 §6.3: "The new maximum size MUST be lower than or
			// equal to the limit determined by the protocol using HPACK."
			if v > uint64(d.limit) {
				return 0, 0, errHpackSizeUpdate
			}
			d.maxSize = uint32(v)
			d.evictTo(d.maxSize)
			p = p[k:]
			continue // still "first": several updates may open a block
		default: // literal field (§6.2): 01 with indexing, 0000 without, 0001 never
			indexing := b&0xc0 == 0x40
			prefix := uint(4)
			if indexing {
				prefix = 6
			}
			idx, k, err := readInt(p, prefix)
			if err != nil {
				return 0, 0, err
			}
			p = p[k:]
			var e fieldInfo
			if d.text {
				d.sbuf = d.sbuf[:0]
			}
			if idx != 0 {
				ne, ok := d.at(idx)
				if !ok {
					return 0, 0, errHpackIndex
				}
				e.nameLen, e.isStatus = ne.nameLen, ne.isStatus
				if d.text {
					d.sbuf = append(d.sbuf, d.textAt(idx)[:ne.nameLen]...)
				}
			} else {
				n, raw, used, err := d.readString(p)
				if err != nil {
					return 0, 0, err
				}
				e.nameLen = uint32(n)
				if d.text {
					if _, err := d.appendString(p); err != nil {
						return 0, 0, err
					}
					e.nameLen = uint32(len(d.sbuf))
				}
				p = p[used:]
				e.isStatus = n == 7 && string(raw) == ":status"
			}
			n, raw, used, err := d.readString(p)
			if err != nil {
				return 0, 0, err
			}
			if d.text {
				if _, err := d.appendString(p); err != nil {
					return 0, 0, err
				}
			}
			p = p[used:]
			e.valueLen = uint32(n)
			if e.isStatus {
				if n == 3 {
					e.status = parseStatus(raw[:3])
				} else {
					e.status = -1
				}
				if status == 0 {
					status = int(e.status)
				}
			}
			if d.text {
				// the lengths of the octets kept, so that textAt slices
				// them right whatever the Huffman decoders say
				e.valueLen = uint32(len(d.sbuf)) - e.nameLen
			}
			decoded += int(e.nameLen + e.valueLen)
			if d.emit != nil {
				d.emit(d.sbuf[:e.nameLen], d.sbuf[e.nameLen:])
			}
			if indexing {
				d.add(e, d.sbuf)
			}
		}
		first = false
	}
	return status, decoded, nil
}

// reqEncoder encodes request field blocks with x/net's hpack.Encoder and
// caches, per prepared request, a block made only of indexed fields.
type reqEncoder struct {
	// owned by the connection's writer
	buf   bytes.Buffer
	enc   *hpack.Encoder
	gen   uint32        // bumped whenever the encoder's table may have changed
	cache []cachedBlock // per request index
	arena []byte        // backing store of cached blocks
}

type cachedBlock struct {
	off, n int32
	gen    uint32
}

func newReqEncoder(tableLimit uint32, nreq int) *reqEncoder {
	e := &reqEncoder{cache: make([]cachedBlock, nreq), gen: 1}
	e.enc = hpack.NewEncoder(&e.buf)
	e.enc.SetMaxDynamicTableSizeLimit(tableLimit)
	return e
}

// setPeerTableSize applies the server's SETTINGS_HEADER_TABLE_SIZE; the
// encoder announces the new size at the start of its next block.
func (e *reqEncoder) setPeerTableSize(v uint32) {
	e.enc.SetMaxDynamicTableSize(v)
	e.gen++
}

// encode returns the field block of request i. The slice is valid until the
// next call of encode.
func (e *reqEncoder) encode(i int, fields []hpack.HeaderField) []byte {
	c := e.cache[i]
	if c.gen == e.gen && c.n > 0 {
		return e.arena[c.off : c.off+c.n]
	}
	e.buf.Reset()
	for _, f := range fields {
		e.enc.WriteField(f) // writes to a bytes.Buffer: never fails
	}
	b := e.buf.Bytes()
	if !allIndexed(b) {
		e.gen++ // the table changed: every cached block is stale
		return b
	}
	if len(e.arena)+len(b) > cap(e.arena) && len(e.arena) > 0 {
		// out of room: start again (blocks will be re-cached on next use)
		e.arena = e.arena[:0]
		e.gen++
	}
	off := len(e.arena)
	e.arena = append(e.arena, b...)
	e.cache[i] = cachedBlock{off: int32(off), n: int32(len(b)), gen: e.gen}
	return e.arena[off : off+len(b)]
}

// allIndexed reports whether block b consists only of indexed field
// representations (RFC 7541 §6.1), which leave the dynamic table unchanged.
func allIndexed(b []byte) bool {
	for len(b) > 0 {
		if b[0]&0x80 == 0 {
			return false
		}
		_, k, err := readInt(b, 7)
		if err != nil {
			return false
		}
		b = b[k:]
	}
	return true
}
