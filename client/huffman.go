package client

import (
	"strings"

	"golang.org/x/net/http2/hpack"
)

// A table-driven Huffman decoder (RFC 7541 §5.2, Appendix B) that reads four
// bits at a time and only counts the decoded octets (keeping the first few),
// which is all the response decoder needs. The code is not written out here:
// it is recovered at init from x/net's encoder, one symbol at a time.

// huffStep is one transition of the nibble automaton.
type huffStep struct {
	next  uint8 // internal node reached
	sym   uint8 // the symbol completed, when flags&huffEmit
	flags uint8
}

const (
	huffEmit = 1 << iota // a symbol was completed within the nibble
	huffFail             // the EOS symbol was decoded: an error (§5.2)
)

var (
	huffTable [256][16]huffStep // [internal node][nibble]
	// huffOnes[s] is the depth of internal node s when the path to it from
	// the root is all ones, else 0 (root) or -1. A string may end only at
	// the root or after at most 7 bits of ones: RFC 7541 §5.2 "A padding
	// strictly longer than 7 bits MUST be treated as a decoding error. A
	// padding not corresponding to the most significant bits of the code
	// for the EOS symbol MUST be treated as a decoding error."
	huffOnes [256]int8
)

func init() {
	// the code of every symbol, from the encoder
	type code struct {
		bits uint32
		n    uint8
	}
	var codes [257]code
	for s := 0; s < 256; s++ {
		one := string([]byte{byte(s)})
		n := uint8(hpack.HuffmanEncodeLength(strings.Repeat(one, 8))) // 8 copies: n bytes = n bits each
		enc := hpack.AppendHuffmanString(nil, one)
		var v uint64
		for _, b := range enc {
			v = v<<8 | uint64(b)
		}
		v >>= uint(8*len(enc)) - uint(n)
		codes[s] = code{bits: uint32(v), n: n}
	}
	codes[256] = code{bits: 1<<30 - 1, n: 30} // EOS
	// the tree: internal nodes 0..255, leaves as -(sym+1)
	type node struct{ child [2]int16 }
	nodes := make([]node, 1, 256)
	for s, c := range codes {
		cur := 0
		for i := int(c.n) - 1; i >= 0; i-- {
			bit := (c.bits >> uint(i)) & 1
			if i == 0 {
				nodes[cur].child[bit] = int16(-(s + 1))
				break
			}
			nx := nodes[cur].child[bit]
			if nx == 0 {
				nodes = append(nodes, node{})
				nx = int16(len(nodes) - 1)
				nodes[cur].child[bit] = nx
			}
			cur = int(nx)
		}
	}
	if len(nodes) != 256 {
		panic("client: Huffman tree has the wrong shape")
	}
	for s := range huffOnes {
		huffOnes[s] = -1
	}
	huffOnes[0] = 0
	for d, cur := int8(1), 0; d <= 7; d++ {
		cur = int(nodes[cur].child[1])
		huffOnes[cur] = d
	}
	for s := range nodes {
		for nib := 0; nib < 16; nib++ {
			cur := s
			var st huffStep
			for i := 3; i >= 0; i-- {
				c := nodes[cur].child[(nib>>uint(i))&1]
				if c < 0 {
					sym := int(-c) - 1
					if sym == 256 {
						st.flags |= huffFail
					}
					st.sym, st.flags = uint8(sym), st.flags|huffEmit
					cur = 0
				} else {
					cur = int(c)
				}
			}
			st.next = uint8(cur)
			huffTable[s][nib] = st
		}
	}
}

// huffmanCount decodes the Huffman string p, copying up to len(head) octets
// into head, and returns the decoded length.
func huffmanCount(p []byte, head []byte) (int, bool) {
	n := 0
	s := uint8(0)
	for _, b := range p {
		st := huffTable[s][b>>4]
		if st.flags != 0 {
			if st.flags&huffFail != 0 {
				return 0, false
			}
			if n < len(head) {
				head[n] = st.sym
			}
			n++
		}
		st = huffTable[st.next][b&15]
		if st.flags != 0 {
			if st.flags&huffFail != 0 {
				return 0, false
			}
			if n < len(head) {
				head[n] = st.sym
			}
			n++
		}
		s = st.next
	}
	if huffOnes[s] < 0 {
		return 0, false
	}
	return n, true
}
