package codec

import (
	"bytes"
	"encoding/binary"
	"sync"

	"golang.org/x/net/http2/hpack"
)

// HPACK integers, and the check of Huffman-coded strings that are not
// decoded (hpack_dec.go lists where each decoding error is found).

// Connection errors of the field representations.
var (
	errSizeUpdateNotAtStart = connErr(ErrCodeCompression, "dynamic table size update after the first field representation of a field block")
	errHuffmanSkipped       = connErr(ErrCodeCompression, "invalid Huffman-coded string literal (EOS symbol, or padding longer than 7 bits or not all ones)")
	errFieldTruncated       = connErr(ErrCodeCompression, "field block ends inside a field representation")
	errIntegerTooLong       = connErr(ErrCodeCompression, "HPACK integer longer than 10 octets")
)

// maxIntContinuations is the most octets an integer may have after its
// prefix, the last of them ending it (hpack.Decoder's limit too): 63 bits.
const maxIntContinuations = 9

// hpackInt reads the integer at the start of b (RFC 7541 §5.1), len(b) > 0,
// whose prefix is the bits of b[0] in mask. n is the octets it takes: 0 if b
// ends inside it, -1 if it has more than maxIntContinuations continuation
// octets.
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
		// errors."
		return errIntegerTooLong
	}
	return nil
}

// huffmanCheck is a state machine that validates Huffman-coded strings (RFC
// 7541 §5.2, Appendix B) four bits at a time without decoding them. A state
// is an internal node of the code tree (256 of them for 257 symbols, the
// root being state 0); no code is shorter than five bits, so a nibble
// completes at most one symbol.
type huffmanCheck struct {
	next   [256][16]uint16 // next state, | huffmanSawEOS if the nibble completed EOS, | huffmanEmit if another symbol
	sym    [256][16]uint8  // the symbol a huffmanEmit transition completed
	accept [256]bool       // a string may end in this state: the bits since the last symbol are at most 7 ones
}

// huffmanSawEOS flags a transition that completed the EOS symbol,
// huffmanEmit one that completed another symbol.
const (
	huffmanSawEOS = 0x100
	huffmanEmit   = 0x200
)

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

// huffmanDecodeAppend appends the Huffman-coded string b, decoded, to dst
// (RFC 7541 §5.2): without allocating when dst has room for it (at most
// len(b)*8/5 bytes: no code is shorter than five bits). ok is false if b
// is not a valid Huffman-coded string: "A Huffman-encoded string literal
// containing the EOS symbol MUST be treated as a decoding error", and so
// must padding longer than 7 bits or not the most significant bits of EOS.
func huffmanDecodeAppend(dst, b []byte) (_ []byte, ok bool) {
	t := huffmanTable()
	st := uint16(0)
	for _, c := range b {
		from, nib := uint8(st), c>>4
		st = t.next[from][nib]
		if st&(huffmanSawEOS|huffmanEmit) != 0 {
			if st&huffmanSawEOS != 0 {
				return dst, false
			}
			dst = append(dst, t.sym[from][nib])
		}
		from, nib = uint8(st), c&0x0f
		st = t.next[from][nib]
		if st&(huffmanSawEOS|huffmanEmit) != 0 {
			if st&huffmanSawEOS != 0 {
				return dst, false
			}
			dst = append(dst, t.sym[from][nib])
		}
	}
	return dst, t.accept[uint8(st)]
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
				if sym := nodes[cur].sym; sym >= 0 {
					if sym == 256 {
						flags = huffmanSawEOS
					} else {
						flags = huffmanEmit
						t.sym[st][x] = uint8(sym)
					}
					cur = 0
				}
			}
			t.next[st][x] = uint16(state[cur]) | flags
		}
	}
	return t
}
