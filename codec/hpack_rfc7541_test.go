package codec

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// One test per decoding error of RFC 7541 (each a COMPRESSION_ERROR, RFC 9113
// §4.3), each feeding the violating octets through HeaderDecoder in every way
// a block is decoded: fields stored, the block discarded (dst nil, RFC 9113
// §4.3), and past the header list limit (where hpack.Decoder stops decoding
// literal strings), whole and one octet per fragment.

// decodeMode is one way HeaderDecoder decodes a block.
type decodeMode struct {
	name    string
	limit   uint32 // SETTINGS_MAX_HEADER_LIST_SIZE
	discard bool   // Begin with a nil dst
}

// decodeModes: with a limit of 10 every field crosses it, so the fields after
// the first one are decoded with emit disabled.
var decodeModes = []decodeMode{{"store", 1 << 16, false}, {"discard", 1 << 16, true}, {"over-limit", 10, false}}

// decodeIn decodes block with d in mode m, fragLen octets per Write (all at
// once when 0), and returns the first error of Write or End.
func decodeIn(d *HeaderDecoder, m decodeMode, block []byte, fragLen int) error {
	if !m.discard {
		_, err := decodeHPACKBlock(d, 1, BlockTrailers, block, fragLen)
		return err
	}
	d.Begin(1, BlockTrailers, nil)
	if fragLen <= 0 {
		fragLen = len(block) + 1
	}
	for len(block) > 0 {
		n := min(fragLen, len(block))
		if err := d.Write(block[:n]); err != nil {
			return err
		}
		block = block[n:]
	}
	return d.End()
}

// hpackViolation is a block that a decoder prepared by setup must reject.
type hpackViolation struct {
	name  string
	setup func(d *HeaderDecoder) // may be nil; decodes earlier blocks, changes settings
	block []byte
	want  error // the exact sentinel when not nil; any COMPRESSION_ERROR otherwise
}

// wantViolations checks every case in every mode and fragmentation: the
// block is a *ConnError COMPRESSION_ERROR, and the decoder stays dead.
func wantViolations(t *testing.T, tableSize uint32, cases []hpackViolation) {
	t.Helper()
	for _, tc := range cases {
		for _, m := range decodeModes {
			for _, fragLen := range []int{0, 1} {
				t.Run(fmt.Sprintf("%s/%s/frag=%d", tc.name, m.name, fragLen), func(t *testing.T) {
					d := NewHeaderDecoder(tableSize, m.limit)
					if tc.setup != nil {
						tc.setup(d)
					}
					err := decodeIn(d, m, tc.block, fragLen)
					wantConnError(t, err, ErrCodeCompression)
					if tc.want != nil && err != tc.want {
						t.Fatalf("err = %v, want %v", err, tc.want)
					}
					if err2 := decodeIn(d, m, []byte{0x82}, 0); err2 != err {
						t.Fatalf("next block: %v, want the same %v", err2, err)
					}
				})
			}
		}
	}
}

// warm returns a setup that decodes blocks (valid HPACK; the header list
// limit may make them too large) before the test block.
func warm(t *testing.T, blocks ...[]byte) func(d *HeaderDecoder) {
	return func(d *HeaderDecoder) {
		for _, b := range blocks {
			if _, err := decodeHPACKBlock(d, 1, BlockTrailers, b, 0); err != nil && err != ErrHeaderListTooLarge {
				t.Fatalf("warm-up block %x: %v", b, err)
			}
		}
	}
}

// addEntry is a block that adds x: y (34 octets) to the dynamic table.
var addEntry = []byte{0x40, 1, 'x', 1, 'y'}

// Rule 1. RFC 7541 §4.2: "This dynamic table size update MUST occur at the
// beginning of the first header block following the change to the dynamic
// table size." hpack.Decoder rejects a later one only while its dynamic table
// is not empty; HeaderDecoder rejects it always.
func TestRFC7541SizeUpdateAfterField(t *testing.T) {
	wantViolations(t, 4096, []hpackViolation{
		// empty dynamic table: accepted by hpack.Decoder
		{"after indexed field, empty table", nil, []byte{0x82, 0x20}, errSizeUpdateNotAtStart},
		{"to 4096 after indexed field, empty table", nil, []byte{0x82, 0x3f, 0xe1, 0x1f}, errSizeUpdateNotAtStart},
		{"after leading update and field", nil, []byte{0x20, 0x82, 0x20}, errSizeUpdateNotAtStart},
		{"after literal without indexing", nil, []byte{0x00, 1, 'a', 1, 'b', 0x3f, 0x01}, errSizeUpdateNotAtStart},
		{"after never-indexed Huffman literal", nil, []byte{0x10, 0x81, 0x1f, 0x81, 0x1f, 0x20}, errSizeUpdateNotAtStart},
		{"between fields", nil, []byte{0x82, 0x87, 0x20, 0x84}, errSizeUpdateNotAtStart},
		{"last field then update, table emptied by a leading update", warm(t, addEntry), []byte{0x20, 0x82, 0x20}, errSizeUpdateNotAtStart},
		// non-empty dynamic table: hpack.Decoder's own error comes first
		{"after literal with indexing", nil, []byte{0x40, 1, 'a', 1, 'b', 0x20}, nil},
		{"after indexed field, table not empty", warm(t, addEntry), []byte{0xbe, 0x20}, nil},
	})
	// A table limited to 0 stays empty after a literal with indexing.
	wantViolations(t, 0, []hpackViolation{
		{"after literal with indexing, table size 0", nil, []byte{0x40, 1, 'a', 1, 'b', 0x20}, errSizeUpdateNotAtStart},
	})
	// The update in a CONTINUATION fragment of its own.
	d := NewHeaderDecoder(4096, 1<<16)
	d.Begin(1, BlockRequest, new(HeaderBlock))
	if err := d.Write([]byte{0x82, 0x87, 0x84}); err != nil {
		t.Fatal(err)
	}
	if err := d.Write([]byte{0x20}); err != errSizeUpdateNotAtStart {
		t.Fatalf("update in a later fragment: %v", err)
	}
}

// Rule 2. RFC 7541 §6.3: "The new maximum size MUST be lower than or equal to
// the limit determined by the protocol using HPACK. A value that exceeds this
// limit MUST be treated as a decoding error." The limit is what
// NewHeaderDecoder was given (the default 4096 until our SETTINGS is
// acknowledged), then each SetMaxDynamicTableSize.
func TestRFC7541SizeUpdateAboveLimit(t *testing.T) {
	raise := func(n uint32) func(d *HeaderDecoder) { return func(d *HeaderDecoder) { d.SetMaxDynamicTableSize(n) } }
	upd := func(n uint64) []byte {
		b := appendVarInt(nil, 5, n)
		b[0] |= 0x20
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	wantViolations(t, 4096, []hpackViolation{
		{"4097 before our SETTINGS is acknowledged", nil, cat(upd(4097), []byte{0x82}), errSizeUpdateTooLarge},
		{"8193 after 8192 is acknowledged", raise(8192), cat(upd(8193), []byte{0x82}), errSizeUpdateTooLarge},
		{"101 after a reduction to 100", raise(100), cat(upd(101), []byte{0x82}), errSizeUpdateTooLarge},
		{"second update above the limit", nil, cat(upd(0), upd(4097), []byte{0x82}), errSizeUpdateTooLarge},
		{"2^32", nil, cat(upd(1<<32), []byte{0x82}), errSizeUpdateTooLarge},
		{"longer than six octets", nil, []byte{0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x82}, errSizeUpdateTooLarge},
		{"above the limit after a field", nil, cat([]byte{0x82}, upd(4097)), nil},
		// RFC 7541 §4.2: "the smallest maximum table size that occurs in
		// that interval MUST be signaled": 4096 -> 0 -> 4096 acknowledged
		// between two blocks needs an update to 0 first.
		{"only the final size after down and up", func(d *HeaderDecoder) {
			d.SetMaxDynamicTableSize(0)
			d.SetMaxDynamicTableSize(4096)
		}, cat(upd(4096), []byte{0x82}), errSizeUpdateMissing},
		{"two updates above the smallest size", func(d *HeaderDecoder) {
			d.SetMaxDynamicTableSize(100)
			d.SetMaxDynamicTableSize(50)
			d.SetMaxDynamicTableSize(4096)
		}, cat(upd(100), upd(4096), []byte{0x82}), errSizeUpdateMissing},
	})
}

// Rule 2, the legal side: updates at the start, within the limit, one or two
// (the smallest, then the final size), split anywhere, decode and apply.
func TestRFC7541SizeUpdateLegal(t *testing.T) {
	upd := func(n uint64) []byte {
		b := appendVarInt(nil, 5, n)
		b[0] |= 0x20
		return b
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	tests := []struct {
		name  string
		setup func(d *HeaderDecoder)
		block []byte
		want  []hpack.HeaderField // decoded after [62] x: y was added by a first block
	}{
		{"to 4096 (the limit)", nil, cat(upd(4096), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
		{"to 34 (x: y fits)", nil, cat(upd(34), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
		{"to 0 then 4096", nil, cat(upd(0), upd(4096), addEntry, []byte{0xbe}), []hpack.HeaderField{hf("x", "y"), hf("x", "y")}},
		{"to 8192 after it is acknowledged", func(d *HeaderDecoder) { d.SetMaxDynamicTableSize(8192) },
			cat(upd(8192), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
		{"reduction to 100 signalled", func(d *HeaderDecoder) { d.SetMaxDynamicTableSize(100) },
			cat(upd(100), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
		{"reduction to 100 signalled lower", func(d *HeaderDecoder) { d.SetMaxDynamicTableSize(100) },
			cat(upd(40), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
		{"down to 0 and up: smallest then final", func(d *HeaderDecoder) {
			d.SetMaxDynamicTableSize(0)
			d.SetMaxDynamicTableSize(4096)
		}, cat(upd(0), upd(4096), addEntry, []byte{0xbe}), []hpack.HeaderField{hf("x", "y"), hf("x", "y")}},
		{"down to 50 and up: final size, then the smallest", func(d *HeaderDecoder) {
			d.SetMaxDynamicTableSize(50)
			d.SetMaxDynamicTableSize(4096)
		}, cat(upd(4096), upd(50), []byte{0xbe}), []hpack.HeaderField{hf("x", "y")}},
	}
	for _, tt := range tests {
		block := tt.block
		for split := 0; split <= len(block); split++ {
			d := NewHeaderDecoder(4096, 1<<16)
			if _, err := decodeHPACKBlock(d, 1, BlockTrailers, addEntry, 0); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(d)
			}
			b := new(HeaderBlock)
			d.Begin(3, BlockTrailers, b)
			err := d.Write(block[:split])
			if err == nil {
				err = d.Write(block[split:])
			}
			if err == nil {
				err = d.End()
			}
			if err != nil || !reflect.DeepEqual(b.Fields, tt.want) {
				t.Fatalf("%s, split at %d: %v, fields %v", tt.name, split, err, b.Fields)
			}
			// The next block needs no update.
			if _, err := decodeHPACKBlock(d, 5, BlockTrailers, []byte{0xbe}, 0); err != nil {
				t.Fatalf("%s: block after: %v", tt.name, err)
			}
		}
	}
}

// Rule 3. RFC 7541 §4.2: "The final maximum size is always signaled,
// resulting in at most two dynamic table size updates." A third is a decoding
// error: no conformant encoder sends one.
func TestRFC7541ThreeSizeUpdates(t *testing.T) {
	wantViolations(t, 4096, []hpackViolation{
		{"three updates", nil, []byte{0x20, 0x20, 0x20, 0x82}, errSizeUpdateCount},
		{"three updates, table not empty", warm(t, addEntry), []byte{0x3f, 0x13, 0x20, 0x3f, 0xe1, 0x1f, 0xbe}, errSizeUpdateCount},
		{"three updates, nothing else", nil, []byte{0x20, 0x20, 0x20}, errSizeUpdateCount},
	})
}

// Rule 4. RFC 7541 §6.1: "The index value of 0 is not used. It MUST be
// treated as a decoding error if found in an indexed header field
// representation." (hpack.Decoder)
func TestRFC7541IndexZero(t *testing.T) {
	wantViolations(t, 4096, []hpackViolation{
		{"index 0", nil, []byte{0x80}, nil},
		{"index 0 after fields", nil, []byte{0x82, 0x87, 0x80}, nil},
		{"index 0 after a leading update", nil, []byte{0x20, 0x80}, nil},
	})
	// A name index of 0 in a literal is not an index: it announces a literal
	// name (§6.2), so it decodes.
	d := NewHeaderDecoder(4096, 1<<16)
	if b, err := decodeHPACKBlock(d, 1, BlockTrailers, []byte{0x00, 1, 'a', 1, 'b'}, 0); err != nil || b.Fields[0] != hf("a", "b") {
		t.Fatalf("literal name: %v %+v", err, b)
	}
}

// Rule 5. RFC 7541 §2.3.3: "Indices strictly greater than the sum of the
// lengths of both tables MUST be treated as a decoding error." (hpack.Decoder)
func TestRFC7541IndexPastTables(t *testing.T) {
	// With x: y in the table, 62 exists and 63 does not.
	one := warm(t, addEntry)
	wantViolations(t, 4096, []hpackViolation{
		{"indexed 62, empty table", nil, []byte{0xbe}, nil},
		{"indexed 63, one entry", one, []byte{0xbf}, nil},
		{"indexed 127 (two octets)", one, []byte{0xff, 0x00}, nil},
		{"indexed 2^62", one, append([]byte{0xff}, varIntTail(1<<62-127)...), nil},
		{"indexed 62 after the table was emptied", one, []byte{0x20, 0xbe}, nil},
		{"indexed 63 after fields", one, []byte{0x82, 0xbe, 0xbf}, nil},
		{"literal with indexing, name 63", one, []byte{0x40 | 63, 0x00, 1, 'v'}, nil},
		{"literal with indexing, name 62, empty table", nil, []byte{0x40 | 62, 1, 'v'}, nil},
		{"literal without indexing, name 63", one, []byte{0x0f, 63 - 15, 1, 'v'}, nil},
		{"never indexed, name 63", one, []byte{0x1f, 63 - 15, 1, 'v'}, nil},
		{"literal without indexing, name 63 after fields", one, []byte{0x82, 0x87, 0x0f, 63 - 15, 1, 'v'}, nil},
	})
	// The boundary itself is fine: 61 (static) and 62 (x: y).
	for _, block := range [][]byte{{0xbd}, {0xbe}, {0x0f, 62 - 15, 1, 'v'}, {0x7e, 1, 'v'}} {
		d := NewHeaderDecoder(4096, 1<<16)
		one(d)
		if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 0); err != nil {
			t.Fatalf("%x: %v", block, err)
		}
	}
}

// varIntTail returns the octets that follow a full prefix in the HPACK
// integer encoding of prefix+v (RFC 7541 §5.1).
func varIntTail(v uint64) []byte {
	var b []byte
	for ; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}

// huffBits builds a Huffman-coded string bit by bit: codes of (value, bits),
// then pad bits of padding (ones, or the pattern given).
type huffBits struct {
	acc   []byte
	cur   uint64
	nbits uint
}

func (h *huffBits) add(code uint64, bits uint) *huffBits {
	for i := int(bits) - 1; i >= 0; i-- {
		h.cur = h.cur<<1 | code>>uint(i)&1
		if h.nbits++; h.nbits == 8 {
			h.acc = append(h.acc, byte(h.cur))
			h.cur, h.nbits = 0, 0
		}
	}
	return h
}

// bytes returns the string; the last octet must be complete.
func (h *huffBits) bytes() []byte {
	if h.nbits != 0 {
		panic("huffBits: incomplete octet")
	}
	return h.acc
}

// Codes from RFC 7541 Appendix B.
const (
	huffA   = 0x3 // 'a' 00011
	huffE   = 0x5 // 'e' 00101
	huffEOS = 0x3fffffff
)

func huff(parts ...[2]uint64) []byte {
	h := new(huffBits)
	for _, p := range parts {
		h.add(p[0], uint(p[1]))
	}
	return h.bytes()
}

var (
	symA   = [2]uint64{huffA, 5}
	symE   = [2]uint64{huffE, 5}
	symEOS = [2]uint64{huffEOS, 30}
)

func pad(bits uint64, n uint64) [2]uint64 { return [2]uint64{bits, n} }

// Rule 6. RFC 7541 §5.2: "A padding strictly longer than 7 bits MUST be
// treated as a decoding error. A padding not corresponding to the most
// significant bits of the code for the EOS symbol MUST be treated as a
// decoding error. A Huffman-encoded string literal containing the EOS symbol
// MUST be treated as a decoding error." hpack.Decoder checks the strings it
// decodes; the scanner those it skips (literals without indexing, after the
// header list limit or in a discarded block).
func TestRFC7541Huffman(t *testing.T) {
	bad := []struct {
		name string
		s    []byte
	}{
		{"EOS alone", huff(symEOS, pad(3, 2))},
		{"a EOS", huff(symA, symEOS, pad(0x1f, 5))},
		{"a EOS e", huff(symA, symEOS, symE)},
		{"EOS e a", huff(symEOS, symE, symA)},
		{"padding of 8 ones", huff(symA, symA, symA, symA, symA, symA, symA, symA, pad(0xff, 8))},
		{"padding of 11 ones", huff(symA, pad(0x7ff, 11))},
		{"padding 000", huff(symA, pad(0, 3))},
		{"padding 110", huff(symA, pad(6, 3))},
		{"padding 1111110 (7 bits, not EOS)", huff(symA, symA, symA, symA, symA, pad(0x7e, 7))},
		{"e cut to its first 3 bits as padding", huff(symA, pad(1, 3))},
	}
	if got, err := hpack.HuffmanDecodeToString(huff(symA, symE, pad(0x3f, 6))); err != nil || got != "ae" {
		t.Fatalf("test codes wrong: %q %v", got, err) // the codes above are right
	}
	var cases []hpackViolation
	for _, b := range bad {
		if _, err := hpack.HuffmanDecodeToString(b.s); err == nil {
			t.Fatalf("%s: %x is valid", b.name, b.s)
		}
		str := append([]byte{0x80 | byte(len(b.s))}, b.s...)
		cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
		// Each after an indexed field, so that over the limit it is skipped.
		cases = append(cases,
			hpackViolation{b.name + ", value, without indexing", nil, cat([]byte{0x82, 0x0f, 19 - 15}, str), nil},
			hpackViolation{b.name + ", name, without indexing", nil, cat([]byte{0x82, 0x00}, str, []byte{1, 'v'}), nil},
			hpackViolation{b.name + ", value, never indexed", nil, cat([]byte{0x82, 0x10, 1, 'n'}, str), nil},
			hpackViolation{b.name + ", name, never indexed", nil, cat([]byte{0x82, 0x10}, str, []byte{0}), nil},
			hpackViolation{b.name + ", value, with indexing", nil, cat([]byte{0x82, 0x40 | 19}, str), nil},
			hpackViolation{b.name + ", name, with indexing", nil, cat([]byte{0x82, 0x40}, str, []byte{1, 'v'}), nil},
			hpackViolation{b.name + ", first field", nil, cat([]byte{0x00}, str, []byte{1, 'v'}), nil},
		)
	}
	wantViolations(t, 4096, cases)
}

// TestHuffmanCheck compares the scanner's Huffman check with hpack's decoder
// on valid strings (split anywhere) and on random octets.
func TestHuffmanCheck(t *testing.T) {
	check := func(b []byte, split int) bool {
		st, ok1 := huffmanWalk(0, b[:split])
		st, ok2 := huffmanWalk(st, b[split:])
		return ok1 && ok2 && huffmanTable().accept[st]
	}
	r := rand.New(rand.NewSource(7541))
	for i := 0; i < 2000; i++ {
		s := make([]byte, r.Intn(40))
		for j := range s {
			s[j] = byte(r.Intn(256))
		}
		enc := hpack.AppendHuffmanString(nil, string(s))
		for split := 0; split <= len(enc); split++ {
			if !check(enc, split) {
				t.Fatalf("valid %x (%q) rejected, split at %d", enc, s, split)
			}
		}
	}
	for i := 0; i < 200000; i++ {
		b := make([]byte, r.Intn(8))
		for j := range b {
			b[j] = byte(r.Intn(256))
			if r.Intn(2) == 0 {
				b[j] = 0xff // near EOS and the long codes
			}
		}
		_, err := hpack.HuffmanDecodeToString(b)
		if got := check(b, len(b)/2); got != (err == nil) {
			t.Fatalf("%x: check %v, hpack %v", b, got, err)
		}
	}
}

// Rule 7. Integers and strings beyond the limits (RFC 7541 §5.1: "Integer
// encodings that exceed implementation limits -- in value or octet length --
// MUST be treated as decoding errors.") and blocks that end inside a
// representation (hpack.Decoder; the scanner too).
func TestRFC7541Limits(t *testing.T) {
	nine := bytes.Repeat([]byte{0xff}, 9) // nine continued octets: past hpack.Decoder's limit
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	wantViolations(t, 4096, []hpackViolation{
		{"index, nine continued octets", nil, cat([]byte{0xff}, nine, []byte{0x01}), nil},
		{"name index, nine continued octets", nil, cat([]byte{0x0f}, nine, []byte{0x01}), nil},
		{"string length, nine continued octets", nil, cat([]byte{0x00, 0x7f}, nine, []byte{0x01}), nil},
		{"string length, nine continued octets, after a field", nil, cat([]byte{0x82, 0x10, 0x7f}, nine, []byte{0x01}), nil},
		{"string length 2^40 (header list limit)", nil, cat([]byte{0x00, 0x7f}, varIntTail(1<<40-127)), errStringTooLong},
		{"string length 2^40 after a field", nil, cat([]byte{0x82, 0x40, 0x7f}, varIntTail(1<<40-127)), errStringTooLong},
	})
	// The declared length is refused before any of the string arrives: the
	// decoder buffers nothing for it.
	d := NewHeaderDecoder(4096, 1<<16)
	d.Begin(1, BlockTrailers, new(HeaderBlock))
	if err := d.Write(cat([]byte{0x00, 0x7f}, varIntTail(uint64(maxStringLen(1<<16))+1-127))); err != errStringTooLong {
		t.Fatalf("string one octet over the bound: %v", err)
	}
	// A Huffman string short enough coded but too long decoded.
	long := hpack.AppendHuffmanString(nil, strings.Repeat("0", maxStringLen(200)+1))
	d = NewHeaderDecoder(4096, 200)
	_, err := decodeHPACKBlock(d, 1, BlockTrailers, cat([]byte{0x00, 1, 'x', 0xff}, varIntTail(uint64(len(long))-127), long), 4096)
	if err != errStringTooLong {
		t.Fatalf("Huffman string too long decoded: %v", err)
	}

	// Truncated blocks: Write accepts each part, End fails.
	truncated := [][]byte{
		{0xff}, {0xff, 0x80}, // index continued
		{0x40}, {0x0f}, {0x0f, 0x80}, {0x1f}, // name index, name string head
		{0x00, 0x03, 'a', 'b'}, {0x00, 0x01, 'a'}, {0x00, 0x01, 'a', 0x02, 'b'}, // name, value
		{0x0f, 19 - 15, 0x83, 0x1f}, // Huffman value cut
		{0x00, 0x7f}, {0x00, 0x7f, 0x80, 0x01},
		{0x82, 0x40, 1, 'x'}, {0x82, 0x87, 0x84, 0x41, 0x0f, 'w'},
	}
	for _, m := range decodeModes {
		for _, block := range truncated {
			for _, fragLen := range []int{0, 1} {
				d := NewHeaderDecoder(4096, m.limit)
				err := decodeIn(d, m, block, fragLen)
				if err != errFieldTruncated {
					t.Fatalf("%s: truncated %x: %v", m.name, block, err)
				}
			}
		}
	}
}

// TestRFC7541ScannerFollowsHPACK: the scanner finds every representation of
// real blocks (every kind of representation, every split) without a false
// error, so valid blocks decode as before.
func TestRFC7541ScannerFollowsHPACK(t *testing.T) {
	var plain, huffman [][]byte // one connection each
	for _, ex := range rfcRequests {
		plain, huffman = append(plain, hpackHex(ex.plain)), append(huffman, hpackHex(ex.huffman))
	}
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	long := strings.Repeat("v", 300) // lengths on two octets
	fields := []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"),
		hf("x-long", long), {Name: "x-secret", Value: long, Sensitive: true}, hf("accept", ""), hf("", "")}
	peer := [][]byte{peerBlock(enc, &buf, fields...), peerBlock(enc, &buf, fields...)}
	e := NewHeaderEncoder()
	e.SetPeerMaxDynamicTableSize(100)
	e.Reset()
	e.WriteStatus(418)
	e.WriteFieldNoIndex("x-request-id", []byte(long))
	e.WriteSensitive("set-cookie", "a=b")
	ours := [][]byte{bytes.Clone(e.Bytes())}
	for _, m := range decodeModes {
		for i, conn := range [][][]byte{plain, huffman, peer, ours} {
			for split := 0; split < 700; split++ {
				d := NewHeaderDecoder(4096, m.limit)
				for j, block := range conn {
					at := min(split, len(block))
					var err error
					if m.discard {
						d.Begin(1, BlockTrailers, nil)
					} else {
						d.Begin(1, BlockTrailers, new(HeaderBlock))
					}
					if err = d.Write(block[:at]); err == nil {
						if err = d.Write(block[at:]); err == nil {
							err = d.End()
						}
					}
					if _, ok := err.(*ConnError); ok {
						t.Fatalf("%s: connection %d block %d split at %d: %v", m.name, i, j, at, err)
					}
				}
			}
		}
	}
}

// TestHeaderDecoderSplits: the decoder reaches the same verdict on a block
// whatever its fragments (a representation split across fragments is kept
// until it is complete), with the fields stored and with the block only
// decoded to keep the table in sync (Huffman strings checked, not decoded).
func TestHeaderDecoderSplits(t *testing.T) {
	verdict := func(block []byte, cuts []int, skipped bool) (string, []hpack.HeaderField) {
		d := NewHeaderDecoder(4096, 1<<20)
		var dst *HeaderBlock
		if !skipped {
			dst = new(HeaderBlock)
		}
		d.Begin(1, BlockTrailers, dst)
		prev := 0
		var err error
		for _, c := range append(cuts, len(block)) {
			if err = d.Write(block[prev:c]); err != nil {
				break
			}
			prev = c
		}
		if err == nil {
			err = d.End()
		}
		var fields []hpack.HeaderField
		if dst != nil {
			fields = dst.Fields
		}
		if err != nil {
			return err.Error(), fields
		}
		return "", fields
	}
	blocks := [][]byte{
		{0x82, 0x20},
		append([]byte{0xff}, bytes.Repeat([]byte{0x80}, 9)...), // index past hpack.Decoder's limit
		append([]byte{0x00, 0x7f}, bytes.Repeat([]byte{0xff}, 8)...),
		{0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00}, // EOS in a name
		{0x00, 0x81, 0x1f, 0x81, 0x18},             // value padding 000
	}
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	r := rand.New(rand.NewSource(9113))
	for i := 0; i < 300; i++ {
		var fields []hpack.HeaderField
		for j := r.Intn(6); j >= 0; j-- {
			f := hf(fmt.Sprintf("x-%d", r.Intn(20)), strings.Repeat("v", r.Intn(200)))
			f.Sensitive = r.Intn(3) == 0
			fields = append(fields, f)
		}
		block := peerBlock(enc, &buf, fields...)
		if r.Intn(2) == 0 && len(block) > 1 { // corrupt an octet
			block[r.Intn(len(block))] = byte(r.Intn(256))
		}
		blocks = append(blocks, block)
	}
	for _, block := range blocks {
		for _, skipped := range []bool{false, true} {
			wantErr, wantFields := verdict(block, nil, skipped)
			var each []int
			for c := 1; c < len(block); c++ {
				each = append(each, c)
				if err, fields := verdict(block, []int{c}, skipped); err != wantErr || !reflect.DeepEqual(fields, wantFields) {
					t.Fatalf("%x split at %d: %q %q, whole: %q %q", block, c, err, fields, wantErr, wantFields)
				}
			}
			if err, fields := verdict(block, each, skipped); err != wantErr || !reflect.DeepEqual(fields, wantFields) {
				t.Fatalf("%x octet by octet: %q %q, whole: %q %q", block, err, fields, wantErr, wantFields)
			}
		}
	}
	if err, _ := verdict(blocks[1], nil, false); err != errIntegerTooLong.Error() {
		t.Fatalf("overlong index: %v", err)
	}
	if err, _ := verdict(blocks[3], nil, true); err != errHuffmanSkipped.Error() {
		t.Fatalf("EOS in a skipped name: %v", err)
	}
	if err, _ := verdict(blocks[3], nil, false); err != errHuffman.Error() {
		t.Fatalf("EOS in a decoded name: %v", err)
	}
	if err, _ := verdict(blocks[0], nil, false); err != errSizeUpdateNotAtStart.Error() {
		t.Fatalf("size update after a field: %v", err)
	}
}
