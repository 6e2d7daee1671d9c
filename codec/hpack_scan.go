package codec

import (
	"bytes"
	"encoding/binary"
	"sync"

	"golang.org/x/net/http2/hpack"
)

// The decoding errors of RFC 7541, each a connection error of type
// COMPRESSION_ERROR (RFC 9113 §4.3), and what finds them:
//
//   - index 0 (§6.1), an index past both tables (§2.3.3), of a field or of
//     a name: hpack.Decoder;
//   - a dynamic table size update above the limit (§6.3), a third one
//     (§4.2), none after a reduction of the limit (§4.2, RFC 9113 §4.3.1):
//     HeaderDecoder.leadingUpdates;
//   - a dynamic table size update after a field representation (§4.2):
//     fieldScanner (hpack.Decoder only while its dynamic table is not
//     empty);
//   - an integer longer than 10 octets (§5.1): hpack.Decoder, and
//     leadingUpdates for size updates (longer than 6 octets);
//   - a string longer than the decoder's bound (maxStringLen), declared or
//     once decoded: hpack.Decoder (SetMaxStringLength);
//   - an invalid Huffman string, EOS or bad padding (§5.2): hpack.Decoder for
//     the strings it decodes, fieldScanner for those it skips;
//   - a block that ends inside a representation: fieldScanner at End
//     (hpack.Decoder.Close as well).

// Connection errors found by fieldScanner.
var (
	errSizeUpdateNotAtStart = connErr(ErrCodeCompression, "dynamic table size update after the first field representation of a field block")
	errHuffmanSkipped       = connErr(ErrCodeCompression, "invalid Huffman-coded string literal (EOS symbol, or padding longer than 7 bits or not all ones)")
	errFieldTruncated       = connErr(ErrCodeCompression, "field block ends inside a field representation")
	errIntegerTooLong       = connErr(ErrCodeCompression, "HPACK integer longer than 10 octets")
)

// Steps of fieldScanner: what the next octet of the block is.
const (
	scanRepr    = iota // the first octet of a field representation (RFC 7541 §6)
	scanInt            // a continuation octet of an integer (§5.1)
	scanStrHead        // the first octet of a string literal (§5.2)
	scanStr            // an octet of a string literal
)

// What the integer being read is.
const (
	intIndex  = iota // the index of an indexed field (§6.1)
	intName          // the name index of a literal field (§6.2), 0 for a literal name
	intLength        // the length of a string literal (§5.2)
)

// maxIntContinuations is the most octets an integer may have after its
// prefix, the last of them ending it: hpack.Decoder's limit, which the
// scanner keeps too.
const maxIntContinuations = 9

// fieldScanner walks the field representations of a block that follow its
// leading dynamic table size updates, fragment by fragment, without decoding
// them (string literals are skipped by length, indices are not looked up).
// It knows where each representation starts, which hpack.Decoder does not
// tell, and rejects:
//
//   - a dynamic table size update there, which hpack.Decoder accepts while
//     its dynamic table is empty;
//   - an invalid Huffman string that hpack.Decoder did not decode: with emit
//     disabled (a block decoded only to keep the table in sync, or past the
//     header list limit), it skips the strings of the literals it does not
//     add to the table;
//   - a block that ends inside a representation.
//
// Its zero value is ready for the first representation of a block. Walking
// one-octet indexed fields costs a compare per octet; a string literal is
// skipped in one step unless it must be checked. The fields below hold a
// representation split across fragments.
type fieldScanner struct {
	skip    uint64 // octets of the current string literal not yet seen
	val     uint64 // the integer being read, so far
	step    uint8  // scanRepr, ...
	intKind uint8  // intIndex, ... while step is scanInt
	nint    uint8  // continuation octets of the integer read so far
	strs    uint8  // string literals of the representation not yet finished
	noIndex bool   // the representation is a literal without or never indexed (§6.2.2, §6.2.3)
	huff    bool   // the current string is Huffman-coded and checked here
	hstate  uint16 // huffmanCheck state while huff
}

// scan walks fragment, the part of a block that hpack.Decoder has just
// decoded without error. skipped reports that hpack.Decoder's emit is
// disabled at the end of that Write: then it does not decode the strings of
// literals without indexing whose first string octet is in fragment, so the
// scanner checks their Huffman coding. (Emit only goes from enabled to
// disabled within a block, when a field crosses the header list limit, so a
// representation that was still incomplete while emit was enabled is decoded
// with emit enabled.)
//
// Representations that lie whole in fragment are read in one step
// (wholeRepr); one split across fragments goes octet by octet (resume).
func (s *fieldScanner) scan(fragment []byte, skipped bool) error {
	p, i := fragment, 0
	if s.step != scanRepr { // finish the representation an earlier fragment began
		n, err := s.resume(p, skipped)
		if err != nil {
			return err
		}
		i = n
	}
	for i < len(p) {
		if c := p[i]; c >= 0x80 && c != 0xff { // indexed field, index in the 7-bit prefix
			i++
			continue
		}
		n, err := wholeRepr(p[i:], skipped)
		if err != nil {
			return err
		}
		if n == 0 { // the representation goes on in the next fragment
			_, err = s.resume(p[i:], skipped)
			return err
		}
		i += n
	}
	return nil
}

// wholeRepr returns the length of the field representation at the start of
// b, or 0 if b ends inside it.
func wholeRepr(b []byte, skipped bool) (int, error) {
	mask, check := byte(0x3f), false
	switch c := b[0]; {
	case c >= 0x80: // 1xxx xxxx: indexed field (RFC 7541 §6.1)
		_, n := hpackInt(b, 0x7f)
		return max(n, 0), intError(n)
	case c >= 0x40: // 01xx xxxx: literal with incremental indexing (§6.2.1), 6-bit name index
	case c >= 0x20: // 001x xxxx: dynamic table size update (§6.3)
		// RFC 7541 §4.2: "This dynamic table size update MUST occur at the
		// beginning of the first header block following the change to the
		// dynamic table size." The leading updates never reach the scanner
		// (HeaderDecoder.leadingUpdates consumes them), so this one follows
		// a field representation.
		return 0, errSizeUpdateNotAtStart
	default: // 000x xxxx: literal without indexing or never indexed (§6.2.2, §6.2.3), 4-bit name index
		mask, check = 0x0f, skipped
	}
	name, n := hpackInt(b, mask)
	if n <= 0 {
		return 0, intError(n)
	}
	if name == 0 { // a literal name
		m, err := wholeString(b[n:], check)
		if m == 0 {
			return 0, err
		}
		n += m
	}
	m, err := wholeString(b[n:], check)
	if m == 0 {
		return 0, err
	}
	return n + m, nil
}

// wholeString returns the length of the string literal (RFC 7541 §5.2) at
// the start of b, or 0 if b ends inside it. If check is set, a Huffman-coded
// string is checked.
func wholeString(b []byte, check bool) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	l, n := hpackInt(b, 0x7f)
	if n <= 0 || l > uint64(len(b)-n) {
		return 0, intError(n)
	}
	end := n + int(l)
	if check && b[0]&0x80 != 0 {
		if st, ok := huffmanWalk(0, b[n:end]); !ok || !huffmanTable().accept[st] {
			return 0, errHuffmanSkipped // the RFC 7541 §5.2 rules quoted at huffmanWalk and endString
		}
	}
	return end, nil
}

// hpackInt reads the integer at the start of b (RFC 7541 §5.1), len(b) > 0,
// whose prefix is the bits of b[0] in mask. n is the octets it takes: 0 if b
// ends inside it, -1 if it has more continuation octets than hpack.Decoder
// accepts.
func hpackInt(b []byte, mask byte) (v uint64, n int) {
	v = uint64(b[0] & mask)
	if v < uint64(mask) {
		return v, 1
	}
	for k := 1; k < len(b); k++ {
		c := b[k]
		v += uint64(c&0x7f) << (7 * (k - 1))
		if c < 0x80 {
			return v, k + 1
		}
		if k == maxIntContinuations {
			return 0, -1
		}
	}
	return 0, 0
}

// intError is the error for an hpackInt length n.
func intError(n int) error {
	if n < 0 {
		// RFC 7541 §5.1: "Integer encodings that exceed implementation
		// limits -- in value or octet length -- MUST be treated as decoding
		// errors." hpack.Decoder has already failed on these octets.
		return errIntegerTooLong
	}
	return nil
}

// resume walks p octet by octet from the state s is in until the current
// representation ends, and returns how many octets that took (len(p) if it
// goes on in the next fragment).
func (s *fieldScanner) resume(p []byte, skipped bool) (int, error) {
	for i := 0; i < len(p); {
		switch s.step {
		case scanRepr:
			c := p[i]
			i++
			switch {
			case c == 0xff: // indexed field, index continued
				s.beginInt(intIndex, 0x7f)
			case c >= 0x80: // indexed field, index in the prefix
			case c >= 0x40: // literal with incremental indexing
				s.noIndex = false
				_ = s.prefixInt(intName, c&0x3f, 0x3f) // a name index: cannot fail
			case c >= 0x20:
				return i, errSizeUpdateNotAtStart // RFC 7541 §4.2, as in wholeRepr
			default: // literal without indexing or never indexed
				s.noIndex = true
				_ = s.prefixInt(intName, c&0x0f, 0x0f) // a name index: cannot fail
			}
		case scanInt:
			c := p[i]
			i++
			s.val += uint64(c&0x7f) << (7 * s.nint)
			s.nint++
			if c < 0x80 {
				if err := s.endInt(); err != nil {
					return i, err
				}
			} else if s.nint == maxIntContinuations {
				return i, intError(-1)
			}
		case scanStrHead:
			c := p[i]
			i++
			s.huff = c&0x80 != 0 && s.noIndex && skipped
			s.hstate = 0
			if err := s.prefixInt(intLength, c&0x7f, 0x7f); err != nil {
				return i, err
			}
		case scanStr:
			n := min(uint64(len(p)-i), s.skip)
			if s.huff {
				var ok bool
				if s.hstate, ok = huffmanWalk(s.hstate, p[i:i+int(n)]); !ok {
					return i, errHuffmanSkipped
				}
			}
			i += int(n)
			if s.skip -= n; s.skip == 0 {
				if err := s.endString(); err != nil {
					return i, err
				}
			}
		}
		if s.step == scanRepr {
			return i, nil
		}
	}
	return len(p), nil
}

// complete reports whether the block may end here: not inside a
// representation.
func (s *fieldScanner) complete() bool { return s.step == scanRepr }

// beginInt starts reading an integer whose prefix is all ones (full).
func (s *fieldScanner) beginInt(kind, full uint8) {
	s.step, s.intKind, s.val, s.nint = scanInt, kind, uint64(full), 0
}

// prefixInt handles the prefix v of an integer of kind, continued when v is
// full (RFC 7541 §5.1: all ones).
func (s *fieldScanner) prefixInt(kind, v, full uint8) error {
	if v < full {
		s.intKind, s.val = kind, uint64(v)
		return s.endInt()
	}
	s.beginInt(kind, full)
	return nil
}

// endInt moves past a complete integer.
func (s *fieldScanner) endInt() error {
	switch s.intKind {
	case intIndex:
		s.step = scanRepr
	case intName:
		s.strs = 1 // the value
		if s.val == 0 {
			s.strs = 2 // the name, then the value
		}
		s.step = scanStrHead
	default: // intLength
		s.skip = s.val
		if s.skip == 0 {
			return s.endString()
		}
		s.step = scanStr
	}
	return nil
}

// endString moves past a complete string literal, checking the end of its
// Huffman coding if it is checked here.
func (s *fieldScanner) endString() error {
	if s.huff && !huffmanTable().accept[s.hstate] {
		// RFC 7541 §5.2: "A padding strictly longer than 7 bits MUST be
		// treated as a decoding error. A padding not corresponding to the
		// most significant bits of the code for the EOS symbol MUST be
		// treated as a decoding error."
		return errHuffmanSkipped
	}
	s.huff = false
	if s.strs--; s.strs > 0 {
		s.step = scanStrHead
	} else {
		s.step = scanRepr
	}
	return nil
}

// huffmanCheck is a state machine that validates Huffman-coded strings (RFC
// 7541 §5.2, Appendix B) four bits at a time without decoding them. A state
// is an internal node of the code tree (256 of them for 257 symbols, the
// root being state 0); no code is shorter than five bits, so a nibble
// completes at most one symbol.
type huffmanCheck struct {
	next   [256][16]uint16 // next state, | huffmanSawEOS if the nibble completed EOS
	accept [256]bool       // a string may end in this state: the bits since the last symbol are at most 7 ones
}

// huffmanSawEOS flags a transition that completed the EOS symbol.
const huffmanSawEOS = 0x100

// huffmanTable builds the check table on first use: only blocks decoded
// without emitting fields need it.
var huffmanTable = sync.OnceValue(buildHuffmanCheck)

// huffmanWalk runs b through the check from state st. ok is false if b
// completes the EOS symbol; RFC 7541 §5.2: "A Huffman-encoded string literal
// containing the EOS symbol MUST be treated as a decoding error."
func huffmanWalk(st uint16, b []byte) (next uint16, ok bool) {
	t := huffmanTable()
	var seen uint16
	for _, c := range b {
		st = t.next[uint8(st)][c>>4]
		seen |= st
		st = t.next[uint8(st)][c&0x0f]
		seen |= st
	}
	return uint16(uint8(st)), seen&huffmanSawEOS == 0
}

// eosCode is the code of the EOS symbol (RFC 7541 Appendix B): 30 ones.
const (
	eosCode = 1<<30 - 1
	eosBits = 30
)

// huffmanCode returns the code of byte c as hpack's encoder writes it: eight
// copies of c take exactly 8*bits bits, so the first bits of their encoding
// are the code.
func huffmanCode(c byte) (code uint32, bits int) {
	s := string(bytes.Repeat([]byte{c}, 8))
	bits = int(hpack.HuffmanEncodeLength(s)) // 8*bits/8 octets
	enc := hpack.AppendHuffmanString(nil, s)
	return binary.BigEndian.Uint32(enc) >> (32 - bits), bits
}

// buildHuffmanCheck builds the code tree of the 257 symbols and derives the
// nibble transitions from it. It panics if the codes are not a complete
// prefix code, which would make the check wrong.
func buildHuffmanCheck() *huffmanCheck {
	type node struct {
		child [2]int32 // 0: none
		sym   int32    // -1 for an internal node
		depth int      // bits from the root
		ones  bool     // every bit from the root is a one
	}
	nodes := []node{{sym: -1, ones: true}}
	insert := func(code uint32, bits int, sym int32) {
		n := 0
		for b := bits - 1; b >= 0; b-- {
			if nodes[n].sym >= 0 {
				panic("codec: Huffman code is not a prefix code")
			}
			bit := code >> b & 1
			if nodes[n].child[bit] == 0 {
				nodes = append(nodes, node{sym: -1, depth: nodes[n].depth + 1, ones: nodes[n].ones && bit == 1})
				nodes[n].child[bit] = int32(len(nodes) - 1)
			}
			n = int(nodes[n].child[bit])
		}
		if nodes[n].sym >= 0 || nodes[n].child != [2]int32{} {
			panic("codec: Huffman code is not a prefix code")
		}
		nodes[n].sym = sym
	}
	for c := 0; c < 256; c++ {
		code, bits := huffmanCode(byte(c))
		insert(code, bits, int32(c))
	}
	insert(eosCode, eosBits, 256)

	state := make([]int, len(nodes)) // node -> state, for internal nodes
	var internal []int               // state -> node
	for i, n := range nodes {
		if n.sym < 0 {
			if n.child[0] == 0 || n.child[1] == 0 {
				panic("codec: Huffman code is not complete")
			}
			state[i] = len(internal)
			internal = append(internal, i)
		}
	}
	if len(internal) != 256 {
		panic("codec: Huffman code tree does not have 256 internal nodes")
	}
	t := new(huffmanCheck)
	for st, n := range internal {
		t.accept[st] = nodes[n].ones && nodes[n].depth <= 7
		for x := 0; x < 16; x++ {
			cur, flags := n, uint16(0)
			for b := 3; b >= 0; b-- {
				cur = int(nodes[cur].child[x>>b&1])
				if nodes[cur].sym >= 0 {
					if nodes[cur].sym == 256 {
						flags = huffmanSawEOS
					}
					cur = 0
				}
			}
			t.next[st][x] = uint16(state[cur]) | flags
		}
	}
	return t
}
