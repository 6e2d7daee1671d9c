package codec

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// huffmanDecodeAppend decodes what x/net's encoder writes, every byte
// value included, into the buffer it is given, and refuses what x/net's
// decoder refuses.
func TestHuffmanDecodeAppend(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	inputs := []string{"", "a", "/index.html", "www.example.com", string(all)}
	for range 2000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = "abcdefghijklmnopqrstuvwxyz0123456789/-_.?=&"[rng.IntN(43)]
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		enc := hpack.AppendHuffmanString(nil, in)
		dst := make([]byte, 0, len(enc)*8/5)
		got, ok := huffmanDecodeAppend(dst, enc)
		if !ok || string(got) != in {
			t.Fatalf("decode(encode(%q)) = %q, %v", in, got, ok)
		}
		if len(got) > 0 && &got[0] != &dst[:1][0] {
			t.Fatalf("decode(encode(%q)) did not decode into dst", in)
		}
	}
	// Random bytes: valid exactly when x/net's decoder takes them, with the
	// same result.
	for range 20000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		if rng.IntN(2) == 0 {
			b[len(b)-1] |= 0x1f // often valid padding
		}
		want, werr := hpack.HuffmanDecodeToString(b)
		got, ok := huffmanDecodeAppend(nil, b)
		if ok != (werr == nil) || ok && !bytes.Equal(got, []byte(want)) {
			t.Fatalf("% x: got %q %v, x/net %q %v", b, got, ok, want, werr)
		}
	}
}

// arenaBlock is a request block whose :path (Huffman-coded), content-length
// and x-value are literals without indexing, x-value a new name.
func arenaBlock(path, value string) []byte {
	b := []byte{0x82, 0x86, 0x04} // GET, http, :path (static 4) without indexing
	hp := hpack.AppendHuffmanString(nil, path)
	at := len(b)
	b = appendVarInt(b, 7, uint64(len(hp)))
	b[at] |= 0x80
	b = append(b, hp...)
	b = append(b, 0x0f, 0x0d, 2, '1', '2') // content-length (static 28): "12"
	b = append(b, 0x00, 7)
	b = append(b, "x-value"...)
	b = append(b, byte(len(value)))
	return append(b, value...)
}

// TestHeaderBlockArena: literals that do not enter the dynamic table are
// decoded into the block's arena, without allocating; the decoder's cache
// of values found valid never holds them, since the same arena bytes hold
// another block's value next (a CR there must still be found); one that
// does not fit is allocated.
func TestHeaderBlockArena(t *testing.T) {
	d := NewHeaderDecoder(4096, 1<<16)
	var b HeaderBlock
	b.SetArena(make([]byte, 0, 256))
	decode := func(block []byte) error {
		b.Reset()
		d.Begin(1, BlockRequest, &b)
		if err := d.Write(block); err != nil {
			return err
		}
		return d.End()
	}
	ok := arenaBlock("/users/12345?view=full", "abcdefghij")
	if err := decode(ok); err != nil {
		t.Fatal(err)
	}
	v, _ := b.Get("x-value")
	if b.Path != "/users/12345?view=full" || b.ContentLength != 12 || v != "abcdefghij" {
		t.Fatalf("decoded %+v", b)
	}
	for _, s := range []string{b.Path, v, b.Fields[0].Value, b.Fields[1].Name} {
		if !b.InArena(s) {
			t.Fatalf("%q is not in the arena", s)
		}
	}
	if b.InArena(b.Method) {
		t.Fatal("a static table string is in the arena")
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := decode(ok); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per block", n)
	}
	bad := arenaBlock("/users/12345?view=full", "abcdefg\rij") // same length: the same arena bytes
	var se *StreamError
	if err := decode(bad); !errors.As(err, &se) || se.Reason != reasonValueInvalid {
		t.Fatalf("a CR where a valid value was: %v", err)
	}
	// Too large for what is left of the arena: allocated.
	long := strings.Repeat("p", 300)
	if err := decode(arenaBlock("/"+long, "abcdefghij")); err != nil {
		t.Fatal(err)
	}
	if b.Path != "/"+long || b.InArena(b.Path) {
		t.Fatalf("long path %q in arena %v", b.Path, b.InArena(b.Path))
	}
}
