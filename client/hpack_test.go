package client

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// refDecode decodes block with x/net's decoder and returns what respDecoder
// reports: the first :status (parsed as respDecoder does) and the decoded size.
func refDecode(d *hpack.Decoder, got *[]hpack.HeaderField, block []byte) (status, size int, err error) {
	*got = (*got)[:0]
	if _, err = d.Write(block); err == nil {
		err = d.Close()
	}
	if err != nil {
		return 0, 0, err
	}
	for _, f := range *got {
		size += len(f.Name) + len(f.Value)
		if f.Name == ":status" && status == 0 {
			status = int(parseStatus([]byte(f.Value)))
		}
	}
	return status, size, nil
}

// checkSame decodes the blocks with both decoders and fails on a difference.
func checkSame(t *testing.T, limit uint32, blocks [][]byte) {
	t.Helper()
	var got []hpack.HeaderField
	ref := hpack.NewDecoder(limit, func(f hpack.HeaderField) { got = append(got, f) })
	mine := newRespDecoder(limit, false)
	// text mode (push enabled) must report the same and hand out the fields
	var fields []hpack.HeaderField
	text := newRespDecoder(limit, true)
	text.emit = func(n, v []byte) { fields = append(fields, hpack.HeaderField{Name: string(n), Value: string(v)}) }
	for i, b := range blocks {
		ws, wn, werr := refDecode(ref, &got, b)
		gs, gn, gerr := mine.decode(b)
		fields = fields[:0]
		ts, tn, terr := text.decode(b)
		if (werr != nil) != (gerr != nil) || (werr != nil) != (terr != nil) {
			t.Fatalf("block %d %x: x/net err %v, ours %v, text mode %v", i, b, werr, gerr, terr)
		}
		if werr != nil {
			return // both failed: the connection would be closed
		}
		if ws != gs || wn != gn || ws != ts || wn != tn {
			t.Fatalf("block %d %x: x/net status %d size %d, ours %d %d, text mode %d %d", i, b, ws, wn, gs, gn, ts, tn)
		}
		if len(fields) != len(got) {
			t.Fatalf("block %d %x: text mode fields %v, x/net %v", i, b, fields, got)
		}
		for j := range got {
			if fields[j].Name != got[j].Name || fields[j].Value != got[j].Value {
				t.Fatalf("block %d %x: text mode fields %v, x/net %v", i, b, fields, got)
			}
		}
	}
}

// encodeBlocks encodes header lists with x/net's encoder (one table).
func encodeBlocks(tableSize uint32, lists ...[]hpack.HeaderField) [][]byte {
	var buf bytes.Buffer
	e := hpack.NewEncoder(&buf)
	e.SetMaxDynamicTableSize(tableSize)
	var out [][]byte
	for _, l := range lists {
		buf.Reset()
		for _, f := range l {
			e.WriteField(f)
		}
		out = append(out, append([]byte(nil), buf.Bytes()...))
	}
	return out
}

func TestRespDecoderMatchesXNet(t *testing.T) {
	resp := []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "server", Value: "h2o"},
		{Name: "date", Value: "Sun, 22 Nov 2026 08:00:00 GMT"}, {Name: "content-type", Value: "text/html"},
		{Name: "etag", Value: `"5f-6"`}, {Name: "x-request-id", Value: "abcdefghijklmnopqrstuvwxyz0123456789"}}
	other := []hpack.HeaderField{{Name: ":status", Value: "503"}, {Name: "retry-after", Value: "1"},
		{Name: "date", Value: "Sun, 22 Nov 2026 08:00:01 GMT"}, {Name: "secret", Value: "x", Sensitive: true}}
	custom := []hpack.HeaderField{{Name: ":status", Value: "299"}, {Name: "a-very-long-header-name-that-evicts", Value: string(bytes.Repeat([]byte("v"), 3000))}}
	checkSame(t, 4096, encodeBlocks(4096, resp, resp, other, resp, custom, resp, other, custom))
	checkSame(t, 256, encodeBlocks(256, resp, other, resp, custom, resp))
	// a size update, then entries that no longer fit
	checkSame(t, 4096, [][]byte{{0x20}, {0x3f, 0xe1, 0x1f, 0x88}, {0x88, 0xbe}})
	// :status as a literal with a literal (Huffman) name
	name := hpack.AppendHuffmanString(nil, ":status")
	blk := append([]byte{0x40, 0x80 | byte(len(name))}, name...)
	blk = append(blk, 0x03, '2', '0', '4', 0xbe)
	checkSame(t, 4096, [][]byte{blk, {0xbe}})
}

func TestRespDecoderErrors(t *testing.T) {
	for _, b := range [][]byte{
		{0x80},             // index 0
		{0xff, 0x80},       // truncated integer
		{0xbe},             // empty dynamic table
		{0x88, 0x21},       // size update after a field... tolerated while the table is empty
		{0x3f, 0xe2, 0x1f}, // size update above the limit (4097)
		{0x40, 0x05, 'a'},  // truncated literal
		{0x00, 0x81, 0xff}, // bad Huffman (EOS padding)
	} {
		checkSame(t, 4096, [][]byte{b})
	}
	d := newRespDecoder(4096, false)
	if _, _, err := d.decode([]byte{0x3f, 0xe2, 0x1f}); err != errHpackSizeUpdate {
		t.Fatalf("size update above limit: %v", err)
	}
	if _, _, err := d.decode([]byte{0x41, 0x01, 'x', 0x20}); err != errHpackUpdateLate {
		t.Fatalf("late update: %v", err)
	}
}

// FuzzRespDecoder compares the lengths-only decoder with x/net's on two
// consecutive blocks (the second sees the table the first left).
func FuzzRespDecoder(f *testing.F) {
	for _, bs := range encodeBlocks(4096,
		[]hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "server", Value: "h2o"}, {Name: "x", Value: "y"}},
		[]hpack.HeaderField{{Name: ":status", Value: "404"}, {Name: "x", Value: "y"}, {Name: "server", Value: "h2o"}}) {
		f.Add(bs, []byte{0xbe, 0xbf, 0x88})
	}
	f.Add([]byte{0x20, 0x88}, []byte{0x3f, 0xe1, 0x1f})
	f.Add([]byte{0x40, 0x82, 0x94, 0xe7, 0x01, 'z'}, []byte{0xbe})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		checkSame(t, 4096, [][]byte{a, b})
	})
}

func TestReqEncoderCaches(t *testing.T) {
	set := testSet(nil)
	e := newReqEncoder(4096, 1)
	first := append([]byte(nil), e.encode(0, set.h2[0])...)
	if allIndexed(first) {
		t.Fatalf("first block should insert into the table: %x", first)
	}
	second := e.encode(0, set.h2[0])
	if !allIndexed(second) {
		t.Fatalf("second block not fully indexed: %x", second)
	}
	third := e.encode(0, set.h2[0])
	if &third[0] != &second[0] {
		t.Fatal("third block not served from the cache")
	}
	// the cached block decodes to the request
	var got []hpack.HeaderField
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { got = append(got, f) })
	d.Write(first)
	got = got[:0]
	d.Write(third)
	if len(got) != len(set.h2[0]) {
		t.Fatalf("decoded %v", got)
	}
	for i := range got {
		if got[i].Name != set.h2[0][i].Name || got[i].Value != set.h2[0][i].Value {
			t.Fatalf("field %d: %v want %v", i, got[i], set.h2[0][i])
		}
	}
	e.setPeerTableSize(0) // the next block carries a size update: not cached
	if b := e.encode(0, set.h2[0]); allIndexed(b) {
		t.Fatalf("block after a table size change: %x", b)
	}
}

// FuzzHuffmanCount compares the nibble automaton with x/net's decoder.
func FuzzHuffmanCount(f *testing.F) {
	for _, s := range []string{"", "a", ":status", "Sun, 22 Nov 2026 08:00:00 GMT", "\x00\xff\x80 ~"} {
		f.Add(hpack.AppendHuffmanString(nil, s))
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}) // EOS
	f.Add([]byte{0x00})                   // bad padding
	f.Fuzz(func(t *testing.T, p []byte) {
		var ref bytes.Buffer
		_, werr := hpack.HuffmanDecode(&ref, p)
		var head [8]byte
		n, ok := huffmanCount(p, head[:])
		if ok != (werr == nil) {
			t.Fatalf("%x: x/net err %v, ours ok=%v", p, werr, ok)
		}
		if ok && (n != ref.Len() || !bytes.Equal(head[:min(n, 8)], ref.Bytes()[:min(n, 8)])) {
			t.Fatalf("%x: x/net %q, ours %d %q", p, ref.Bytes(), n, head[:min(n, 8)])
		}
	})
}

func TestHuffmanCountAll(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for l := 0; l <= 256; l += 7 {
		s := string(all[:l])
		enc := hpack.AppendHuffmanString(nil, s)
		var head [8]byte
		n, ok := huffmanCount(enc, head[:])
		if !ok || n != l || string(head[:min(l, 8)]) != s[:min(l, 8)] {
			t.Fatalf("len %d: n=%d ok=%v head=%q", l, n, ok, head[:min(l, 8)])
		}
	}
}
