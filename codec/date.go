package codec

import "golang.org/x/net/http2/hpack"

// AppendDateField appends the HPACK representation of a date response
// field: a literal without indexing whose name is the static table's
// "date" (index 33), with a Huffman-coded value (RFC 7541 §6.2.2). The
// result is meant to be computed once per second and copied into every
// response block with HeaderEncoder.WriteEncoded: no table lookup, and the
// dynamic table is not churned by a value that changes every second.
func AppendDateField(dst []byte, date string) []byte {
	// 0000 xxxx with a 4-bit name index: 33 = 15 + 18.
	dst = append(dst, 0x0f, 33-15)
	n := hpack.HuffmanEncodeLength(date)
	dst = appendHpackInt(dst, 0x80, 7, n)
	return hpack.AppendHuffmanString(dst, date)
}

// appendHpackInt appends n with an N-bit prefix and the given first-byte
// flags (RFC 7541 §5.1).
func appendHpackInt(dst []byte, flags byte, prefix uint8, n uint64) []byte {
	max := uint64(1)<<prefix - 1
	if n < max {
		return append(dst, flags|byte(n))
	}
	dst = append(dst, flags|byte(max))
	n -= max
	for n >= 128 {
		dst = append(dst, byte(n&0x7f|0x80))
		n >>= 7
	}
	return append(dst, byte(n))
}

// WriteEncoded appends an already encoded field representation (from
// AppendDateField, say) to the block being encoded. It must not change the
// dynamic table: only literals without indexing or never indexed.
func (e *HeaderEncoder) WriteEncoded(p []byte) { e.out = append(e.out, p...) }
