package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// hpackHex decodes a hex dump such as "8286 8441" (spaces and newlines ignored).
func hpackHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// hf builds a header field.
func hf(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }

// decodeHPACKBlock decodes block (split into fragments of fragLen bytes, all
// at once when fragLen <= 0) into a new HeaderBlock.
func decodeHPACKBlock(d *HeaderDecoder, id uint32, kind BlockKind, block []byte, fragLen int) (*HeaderBlock, error) {
	b := new(HeaderBlock)
	d.Begin(id, kind, b)
	if fragLen <= 0 {
		fragLen = len(block) + 1
	}
	for len(block) > 0 {
		n := min(fragLen, len(block))
		if err := d.Write(block[:n]); err != nil {
			return b, err
		}
		block = block[n:]
	}
	return b, d.End()
}

// listSize is the §6.5.2 size of fields.
func listSize(fields ...hpack.HeaderField) uint32 {
	var n uint32
	for _, f := range fields {
		n += f.Size()
	}
	return n
}

// wantConnError checks that err is a *ConnError with code.
func wantConnError(t *testing.T, err error, code ErrCode) {
	t.Helper()
	var ce *ConnError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("err = %v, want *ConnError %v", err, code)
	}
}

// wantStreamError checks that err is a *StreamError for id with code and reason.
func wantStreamError(t *testing.T, err error, id uint32, code ErrCode, reason string) {
	t.Helper()
	var se *StreamError
	if !errors.As(err, &se) || se.StreamID != id || se.Code != code || se.Reason != reason {
		t.Fatalf("err = %v, want *StreamError{%d, %v, %q}", err, id, code, reason)
	}
}

// RFC 7541 C.2: each example on a decoder with an empty table.
func TestHeaderDecoderRFC7541C2(t *testing.T) {
	tests := []struct {
		name   string
		block  string
		kind   BlockKind
		want   HeaderBlock
		reason string // "" when End returns nil
	}{
		{"C.2.1 literal with indexing", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", BlockTrailers,
			HeaderBlock{Fields: []hpack.HeaderField{hf("custom-key", "custom-header")}, ContentLength: -1, Size: 55}, ""},
		{"C.2.2 literal without indexing", "040c 2f73 616d 706c 652f 7061 7468", BlockRequest,
			HeaderBlock{Path: "/sample/path", ContentLength: -1, Size: 49}, reasonMethodMissing},
		{"C.2.3 literal never indexed", "1008 7061 7373 776f 7264 0673 6563 7265 74", BlockTrailers,
			HeaderBlock{Fields: []hpack.HeaderField{{Name: "password", Value: "secret", Sensitive: true}}, ContentLength: -1, Size: 46}, ""},
		{"C.2.4 indexed", "82", BlockRequest,
			HeaderBlock{Method: "GET", ContentLength: -1, Size: 42}, reasonSchemeMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewHeaderDecoder(4096, 1<<16)
			b, err := decodeHPACKBlock(d, 1, tt.kind, hpackHex(tt.block), 0)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("End: %v", err)
				}
			} else {
				wantStreamError(t, err, 1, ErrCodeProtocol, tt.reason)
			}
			if !reflect.DeepEqual(*b, tt.want) {
				t.Fatalf("block = %+v\nwant    %+v", *b, tt.want)
			}
		})
	}
}

// rfcRequests is RFC 7541 C.3 (plain) and C.4 (Huffman): three requests on one
// connection, dynamic table size 4096.
var rfcRequests = []struct {
	plain, huffman string
	want           HeaderBlock
}{
	{
		"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
		"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
		HeaderBlock{Method: "GET", Scheme: "http", Path: "/", Authority: "www.example.com",
			ContentLength: -1, Size: 42 + 43 + 38 + 57},
	},
	{
		"8286 84be 5808 6e6f 2d63 6163 6865",
		"8286 84be 5886 a8eb 1064 9cbf",
		HeaderBlock{Method: "GET", Scheme: "http", Path: "/", Authority: "www.example.com",
			Fields: []hpack.HeaderField{hf("cache-control", "no-cache")}, ContentLength: -1, Size: 180 + 53},
	},
	{
		"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
		"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
		HeaderBlock{Method: "GET", Scheme: "https", Path: "/index.html", Authority: "www.example.com",
			Fields: []hpack.HeaderField{hf("custom-key", "custom-value")}, ContentLength: -1, Size: 42 + 44 + 48 + 57 + 54},
	},
}

// rfcResponses is RFC 7541 C.5 (plain) and C.6 (Huffman): three responses on
// one connection, dynamic table size 256, with evictions.
var rfcResponses = []struct {
	plain, huffman string
	want           HeaderBlock
}{
	{
		`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d
		 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
		`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7
		 8f0b 97c8 e9ae 82ae 43d3`,
		HeaderBlock{Status: 302, Fields: []hpack.HeaderField{
			hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:21 GMT"), hf("location", "https://www.example.com")},
			ContentLength: -1, Size: 42 + 52 + 65 + 63},
	},
	{
		"4803 3330 37c1 c0bf",
		"4883 640e ffc1 c0bf",
		HeaderBlock{Status: 307, Fields: []hpack.HeaderField{
			hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:21 GMT"), hf("location", "https://www.example.com")},
			ContentLength: -1, Size: 42 + 52 + 65 + 63},
	},
	{
		`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f
		 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b
		 2076 6572 7369 6f6e 3d31`,
		`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335
		 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
		HeaderBlock{Status: 200, Fields: []hpack.HeaderField{
			hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:22 GMT"), hf("location", "https://www.example.com"),
			hf("content-encoding", "gzip"), hf("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")},
			ContentLength: -1, Size: 42 + 52 + 65 + 63 + 52 + 98},
	},
}

// TestHeaderDecoderRFC7541Requests decodes C.3 and C.4 through the glue,
// whole and one byte at a time, then checks the final dynamic table
// (RFC: [62] custom-key: custom-value, [63] cache-control: no-cache,
// [64] :authority: www.example.com) by referencing it.
func TestHeaderDecoderRFC7541Requests(t *testing.T) {
	for _, huffman := range []bool{false, true} {
		for _, fragLen := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("huffman=%v/frag=%d", huffman, fragLen), func(t *testing.T) {
				d := NewHeaderDecoder(4096, 1<<16)
				for i, ex := range rfcRequests {
					block := ex.plain
					if huffman {
						block = ex.huffman
					}
					b, err := decodeHPACKBlock(d, uint32(2*i+1), BlockRequest, hpackHex(block), fragLen)
					if err != nil {
						t.Fatalf("request %d: %v", i+1, err)
					}
					if !reflect.DeepEqual(*b, ex.want) {
						t.Fatalf("request %d = %+v\nwant        %+v", i+1, *b, ex.want)
					}
				}
				// :method GET, :scheme https, :path /, then [64], [63], [62].
				b, err := decodeHPACKBlock(d, 7, BlockRequest, []byte{0x82, 0x87, 0x84, 0xc0, 0xbf, 0xbe}, fragLen)
				if err != nil {
					t.Fatal(err)
				}
				want := HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "www.example.com",
					Fields:        []hpack.HeaderField{hf("cache-control", "no-cache"), hf("custom-key", "custom-value")},
					ContentLength: -1, Size: 42 + 44 + 38 + 57 + 53 + 54}
				if !reflect.DeepEqual(*b, want) {
					t.Fatalf("table check = %+v\nwant          %+v", *b, want)
				}
				_, err = decodeHPACKBlock(d, 9, BlockRequest, []byte{0xc1}, 0)
				wantConnError(t, err, ErrCodeCompression) // index 65 does not exist
			})
		}
	}
}

// TestHeaderDecoderRFC7541Responses decodes C.5 and C.6 (table size 256, with
// evictions), then checks the final table ([62] set-cookie, [63]
// content-encoding: gzip, [64] date: ...22 GMT; 215 octets).
func TestHeaderDecoderRFC7541Responses(t *testing.T) {
	for _, huffman := range []bool{false, true} {
		for _, fragLen := range []int{0, 1, 7} {
			t.Run(fmt.Sprintf("huffman=%v/frag=%d", huffman, fragLen), func(t *testing.T) {
				d := NewHeaderDecoder(256, 1<<16)
				for i, ex := range rfcResponses {
					block := ex.plain
					if huffman {
						block = ex.huffman
					}
					b, err := decodeHPACKBlock(d, 1, BlockResponse, hpackHex(block), fragLen)
					if err != nil {
						t.Fatalf("response %d: %v", i+1, err)
					}
					if !reflect.DeepEqual(*b, ex.want) {
						t.Fatalf("response %d = %+v\nwant         %+v", i+1, *b, ex.want)
					}
				}
				b, err := decodeHPACKBlock(d, 3, BlockResponse, []byte{0x88, 0xbe, 0xbf, 0xc0}, fragLen)
				if err != nil {
					t.Fatal(err)
				}
				want := HeaderBlock{Status: 200, Fields: []hpack.HeaderField{
					hf("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
					hf("content-encoding", "gzip"), hf("date", "Mon, 21 Oct 2013 20:13:22 GMT")},
					ContentLength: -1, Size: 42 + 98 + 52 + 65}
				if !reflect.DeepEqual(*b, want) {
					t.Fatalf("table check = %+v\nwant          %+v", *b, want)
				}
				_, err = decodeHPACKBlock(d, 5, BlockResponse, []byte{0x88, 0xc1}, 0)
				wantConnError(t, err, ErrCodeCompression) // evicted: index 65 does not exist
			})
		}
	}
}

// peerBlock encodes fields with enc (a peer's encoder) and returns a copy.
func peerBlock(enc *hpack.Encoder, buf *bytes.Buffer, fields ...hpack.HeaderField) []byte {
	buf.Reset()
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			panic(err)
		}
	}
	return bytes.Clone(buf.Bytes())
}

func TestHeaderDecoderListTooLarge(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	big := strings.Repeat("b", 60)
	req := []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"), hf("x-big", big), hf("x-after", "later")}
	first := peerBlock(enc, &buf, req...)  // x-big and x-after enter the table
	second := peerBlock(enc, &buf, req...) // fully indexed
	third := peerBlock(enc, &buf, hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"), hf("x-after", "later"))
	if len(third) != 4 {
		t.Fatalf("third block %x: want 4 indexed fields", third)
	}

	const limit = 170 // 42 + 44 + 38 = 124 fits, + x-after (44) too; + x-big (97) does not
	d := NewHeaderDecoder(4096, limit)
	for i, block := range [][]byte{first, second} {
		b, err := decodeHPACKBlock(d, 1, BlockRequest, block, 5)
		if err != ErrHeaderListTooLarge {
			t.Fatalf("block %d: err = %v, want ErrHeaderListTooLarge", i+1, err)
		}
		want := HeaderBlock{Method: "GET", Scheme: "https", Path: "/", ContentLength: -1, Size: 124 + 97}
		if !reflect.DeepEqual(*b, want) {
			t.Fatalf("block %d = %+v\nwant     %+v", i+1, *b, want)
		}
	}
	// The table is still in sync: x-after (entered while over the limit) is
	// found at its index.
	b, err := decodeHPACKBlock(d, 3, BlockRequest, third, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := b.Get("x-after"); !ok || v != "later" || b.Size != 124+44 {
		t.Fatalf("after too-large blocks: %+v", *b)
	}
	// Raising the limit admits the fully indexed repeat.
	d.SetMaxHeaderListSize(1000)
	b, err = decodeHPACKBlock(d, 5, BlockRequest, second, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []hpack.HeaderField{hf("x-big", big), hf("x-after", "later")}
	if !reflect.DeepEqual(b.Fields, want) || b.Size != listSize(req...) {
		t.Fatalf("fields = %v, size %d", b.Fields, b.Size)
	}
}

// TestHeaderDecoderListTooLargePrecedence: a block both too large and
// malformed reports ErrHeaderListTooLarge; the limit is inclusive.
func TestHeaderDecoderListTooLargePrecedence(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := peerBlock(enc, &buf, hf("connection", "close"), hf("x", strings.Repeat("v", 100)))
	d := NewHeaderDecoder(4096, 100)
	if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 0); err != ErrHeaderListTooLarge {
		t.Fatalf("err = %v, want ErrHeaderListTooLarge", err)
	}
	exact := peerBlock(enc, &buf, hf("x", strings.Repeat("v", 67))) // 1 + 67 + 32 = 100
	d.SetMaxHeaderListSize(100)
	if b, err := decodeHPACKBlock(d, 3, BlockTrailers, exact, 0); err != nil || b.Size != 100 {
		t.Fatalf("size exactly at the limit: %v, size %d", err, b.Size)
	}
	d.SetMaxHeaderListSize(99)
	if _, err := decodeHPACKBlock(d, 5, BlockTrailers, exact, 0); err != ErrHeaderListTooLarge {
		t.Fatalf("one over the limit: err = %v", err)
	}
}

// TestHeaderDecoderTooLargeBoundedWork: once over the limit, literals are
// skipped, not decoded: a block of 200 non-indexed literals after the
// crossing costs no more allocations than the crossing field itself.
func TestHeaderDecoderTooLargeBoundedWork(t *testing.T) {
	var block []byte
	block = append(block, 0x82, 0x87, 0x84) // 124 bytes of pseudo-headers
	for i := 0; i < 200; i++ {
		block = append(block, 0x00, 6)
		block = append(block, "x-name"...)
		block = append(block, 20)
		block = append(block, strings.Repeat("v", 20)...)
	}
	d := NewHeaderDecoder(4096, 150)
	b := new(HeaderBlock)
	allocs := testing.AllocsPerRun(50, func() {
		d.Begin(1, BlockRequest, b)
		if err := d.Write(block); err != nil {
			t.Fatal(err)
		}
		if err := d.End(); err != ErrHeaderListTooLarge {
			t.Fatal(err)
		}
	})
	if allocs > 2 { // the first literal (name and value) that crosses the limit
		t.Fatalf("allocs = %v, want at most 2", allocs)
	}
	if len(b.Fields) != 0 || b.Size != 124+58 {
		t.Fatalf("block = %+v", *b)
	}
}

// TestHeaderDecoderStringTooLong: a string longer than the decoder's string
// bound (4n+64 KiB) cannot be skipped, so it is a connection error; one
// longer than n but within the bound only makes the block too large.
func TestHeaderDecoderStringTooLong(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := peerBlock(enc, &buf, hf("x", strings.Repeat("v", 300)))
	d := NewHeaderDecoder(4096, 200)
	if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 10); err != ErrHeaderListTooLarge {
		t.Fatalf("err = %v, want ErrHeaderListTooLarge", err)
	}
	buf.Reset()
	enc = hpack.NewEncoder(&buf)
	block = peerBlock(enc, &buf, hf("x", strings.Repeat("v", 4*200+64<<10+1)))
	d = NewHeaderDecoder(4096, 200)
	_, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 10)
	if err != errStringTooLong {
		t.Fatalf("err = %v, want errStringTooLong", err)
	}
	wantConnError(t, err, ErrCodeCompression)
}

func TestHeaderDecoderCompressionErrors(t *testing.T) {
	tests := []struct {
		name  string
		block []byte
	}{
		{"index 0", []byte{0x80}},
		{"index beyond static table", []byte{0xbe}},
		{"truncated literal", []byte{0x40, 0x03, 'a', 'b'}},
		{"truncated integer", []byte{0xff}},
		{"size update above limit", []byte{0x3f, 0xe2, 0x1f}}, // 4097
		{"invalid huffman padding", []byte{0x00, 0x81, 0x00, 0x01, 'v'}},
		{"size update after a field", []byte{0x40, 1, 'a', 1, 'b', 0x20}},
		{"integer overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewHeaderDecoder(4096, 1<<16)
			_, err := decodeHPACKBlock(d, 1, BlockRequest, tt.block, 0)
			wantConnError(t, err, ErrCodeCompression)
			// Sticky: the connection is dead, a later block gets the same error.
			_, err2 := decodeHPACKBlock(d, 3, BlockRequest, []byte{0x82}, 0)
			if err2 != err {
				t.Fatalf("later block: %v, want the same %v", err2, err)
			}
		})
	}
}

// TestHeaderDecoderTableSizeUpdates: updates from the peer up to the limit we
// advertise are accepted, above it rejected; lowering the limit cuts the table.
func TestHeaderDecoderTableSizeUpdates(t *testing.T) {
	d := NewHeaderDecoder(4096, 1<<16)
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	block := peerBlock(enc, &buf, hf("x-a", "1"))
	if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 0); err != nil {
		t.Fatal(err)
	}
	// A size update to 0 then 4096 at the start of a block, then [62].
	if b, err := decodeHPACKBlock(d, 3, BlockTrailers, []byte{0x20, 0x3f, 0xe1, 0x1f, 0x40, 1, 'y', 1, '2'}, 0); err != nil ||
		!reflect.DeepEqual(b.Fields, []hpack.HeaderField{hf("y", "2")}) {
		t.Fatalf("size updates: %v %+v", err, b)
	}
	// The update to 0 emptied the table: [62] is now y: 2.
	if b, err := decodeHPACKBlock(d, 5, BlockTrailers, []byte{0xbe}, 0); err != nil || b.Fields[0] != hf("y", "2") {
		t.Fatalf("after eviction: %v %+v", err, b)
	}
	if _, err := decodeHPACKBlock(d, 7, BlockTrailers, []byte{0xbf}, 0); err == nil {
		t.Fatal("x-a should have been evicted")
	}

	// Advertise more: updates up to 8192 are fine, 8193 is not.
	d = NewHeaderDecoder(4096, 1<<16)
	d.SetMaxDynamicTableSize(8192)
	upd := appendVarInt(nil, 5, 8192)
	upd[0] |= 0x20
	if _, err := decodeHPACKBlock(d, 1, BlockTrailers, upd, 0); err != nil {
		t.Fatal(err)
	}
	over := appendVarInt(nil, 5, 8193)
	over[0] |= 0x20
	_, err := decodeHPACKBlock(d, 3, BlockTrailers, over, 0)
	wantConnError(t, err, ErrCodeCompression)

	// Advertise less: the next block must start with an update within the
	// new limit (RFC 9113 §4.3.1).
	lower := func(n uint32) *HeaderDecoder {
		d := NewHeaderDecoder(4096, 1<<16)
		if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 0); err != nil {
			t.Fatal(err)
		}
		d.SetMaxDynamicTableSize(n)
		return d
	}
	d = lower(0)
	_, err = decodeHPACKBlock(d, 3, BlockTrailers, []byte{0xbe}, 0)
	if err != errSizeUpdateMissing {
		t.Fatalf("no update after a reduction: %v", err)
	}
	d = lower(0)
	_, err = decodeHPACKBlock(d, 3, BlockTrailers, nil, 0)
	if err != errSizeUpdateMissing {
		t.Fatalf("empty block after a reduction: %v", err)
	}
	d = lower(100)
	_, err = decodeHPACKBlock(d, 3, BlockTrailers, []byte{0x3f, 101 - 31, 0xbe}, 0)
	if err != errSizeUpdateTooLarge {
		t.Fatalf("update above the reduced limit: %v", err)
	}
	for _, fragLen := range []int{0, 1} {
		d = lower(100)
		// Update to 100 (x-a, 36 octets, stays), then [62].
		b, err := decodeHPACKBlock(d, 3, BlockTrailers, []byte{0x3f, 100 - 31, 0xbe}, fragLen)
		if err != nil || b.Fields[0] != hf("x-a", "1") {
			t.Fatalf("update within the reduced limit: %v %+v", err, b)
		}
		// One update is enough: the following block needs none.
		if _, err := decodeHPACKBlock(d, 5, BlockTrailers, []byte{0xbe}, fragLen); err != nil {
			t.Fatal(err)
		}
	}

	// Two updates (smallest, then final) while the table holds entries:
	// accepted and applied in order.
	for _, fragLen := range []int{0, 1, 2} {
		d = NewHeaderDecoder(4096, 1<<16)
		if _, err := decodeHPACKBlock(d, 1, BlockTrailers, block, 0); err != nil {
			t.Fatal(err)
		}
		b, err := decodeHPACKBlock(d, 3, BlockTrailers, []byte{0x3f, 50 - 31, 0x3f, 0xe1, 0x1f, 0xbe}, fragLen)
		if err != nil || b.Fields[0] != hf("x-a", "1") {
			t.Fatalf("frag %d: two updates: %v %+v", fragLen, err, b)
		}
		_, err = decodeHPACKBlock(d, 5, BlockTrailers, []byte{0x3f, 50 - 31, 0x20, 0x3f, 0xe1, 0x1f, 0x82}, fragLen)
		if err != errSizeUpdateCount {
			t.Fatalf("three updates: %v", err)
		}
	}
	for _, tail := range [][]byte{{0x3f}, {0x3f, 0xe1}, {0x20, 0x3f, 0x80, 0x80}} {
		d = NewHeaderDecoder(4096, 1<<16)
		if _, err := decodeHPACKBlock(d, 1, BlockTrailers, tail, 1); err != errSizeUpdateTruncated {
			t.Fatalf("truncated update %x: %v", tail, err)
		}
	}
	d = NewHeaderDecoder(4096, 1<<16)
	if _, err := decodeHPACKBlock(d, 1, BlockTrailers, []byte{0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 0); err != errSizeUpdateTooLarge {
		t.Fatalf("overlong update: %v", err)
	}
}

// TestHeaderDecoderDiscard: a nil destination keeps the table in sync and
// reports nothing but HPACK errors.
func TestHeaderDecoderDiscard(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	malformed := peerBlock(enc, &buf, hf("Bad-Name", "v"), hf("x-ok", "1"))
	d := NewHeaderDecoder(4096, 1<<16)
	d.Begin(1, BlockRequest, nil)
	if err := d.Write(malformed); err != nil {
		t.Fatal(err)
	}
	if err := d.End(); err != nil {
		t.Fatalf("discard End = %v, want nil", err)
	}
	b, err := decodeHPACKBlock(d, 3, BlockTrailers, []byte{0xbe}, 0)
	if err != nil || len(b.Fields) != 1 || b.Fields[0] != hf("x-ok", "1") {
		t.Fatalf("table after discard: %v %+v", err, b)
	}
}

// TestHeaderDecoderSplitEverywhere: every two-fragment split of a block
// decodes the same.
func TestHeaderDecoderSplitEverywhere(t *testing.T) {
	block := hpackHex(rfcResponses[0].huffman)
	for i := 0; i <= len(block); i++ {
		d := NewHeaderDecoder(256, 1<<16)
		b := new(HeaderBlock)
		d.Begin(1, BlockResponse, b)
		if err := d.Write(block[:i]); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(block[i:]); err != nil {
			t.Fatal(err)
		}
		if err := d.End(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*b, rfcResponses[0].want) {
			t.Fatalf("split at %d: %+v", i, *b)
		}
	}
}

func TestHeaderBlockResetGet(t *testing.T) {
	b := &HeaderBlock{Method: "GET", Status: 200, ContentLength: 5, Size: 9,
		Fields: []hpack.HeaderField{hf("cookie", "a=1"), hf("cookie", "b=2"), hf("accept", "*/*")}}
	if v, ok := b.Get("cookie"); !ok || v != "a=1" {
		t.Fatalf("Get(cookie) = %q, %v", v, ok)
	}
	if v, ok := b.Get("x"); ok || v != "" {
		t.Fatalf("Get(x) = %q, %v", v, ok)
	}
	fields := b.Fields
	b.Reset()
	if !reflect.DeepEqual(*b, HeaderBlock{Fields: fields[:0], ContentLength: -1}) || cap(b.Fields) != 3 {
		t.Fatalf("after Reset: %+v", *b)
	}
	if fields[0] != (hpack.HeaderField{}) {
		t.Fatal("Reset kept references to old strings")
	}
}

// --- encoder ---

// decodeResponse decodes a response block that must be valid.
func decodeResponse(t *testing.T, d *HeaderDecoder, block []byte) *HeaderBlock {
	t.Helper()
	b, err := decodeHPACKBlock(d, 1, BlockResponse, block, 0)
	if err != nil {
		t.Fatalf("decode %x: %v", block, err)
	}
	return b
}

func TestHeaderEncoderStatus(t *testing.T) {
	static := map[int]byte{200: 0x88, 204: 0x89, 206: 0x8a, 304: 0x8b, 400: 0x8c, 404: 0x8d, 500: 0x8e}
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	for code := 100; code <= 999; code++ {
		e.Reset()
		e.WriteStatus(code)
		got := e.Bytes()
		if idx, ok := static[code]; ok {
			if !bytes.Equal(got, []byte{idx}) {
				t.Fatalf("status %d = %x, want %x", code, got, idx)
			}
		} else {
			// Literal without indexing, name index 8, then the digits as hpack
			// itself would encode the string.
			s := strconv.Itoa(code)
			want := []byte{0x08}
			if h := hpack.HuffmanEncodeLength(s); h < 3 {
				want = append(want, 0x80|byte(h))
				want = hpack.AppendHuffmanString(want, s)
			} else {
				want = append(append(want, 3), s...)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("status %d = %x, want %x", code, got, want)
			}
		}
		if b := decodeResponse(t, d, e.Bytes()); b.Status != code || len(b.Fields) != 0 {
			t.Fatalf("status %d decoded as %+v", code, *b)
		}
	}
	for code, want := range map[int][]byte{302: {0x08, 0x82, 0x64, 0x02}, 418: {0x08, 0x03, '4', '1', '8'}, 0: {0x8e}, 99: {0x8e}, 1000: {0x8e}, -200: {0x8e}} {
		e.Reset()
		e.WriteStatus(code)
		if !bytes.Equal(e.Bytes(), want) {
			t.Errorf("WriteStatus(%d) = %x, want %x", code, e.Bytes(), want)
		}
	}
}

func TestHeaderEncoderContentLength(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	check := func(n int64) {
		t.Helper()
		e.Reset()
		e.WriteStatus(200)
		e.WriteContentLength(n)
		s := strconv.FormatInt(n, 10)
		want := []byte{0x88, 0x0f, 0x0d}
		if h := hpack.HuffmanEncodeLength(s); h < uint64(len(s)) {
			want = append(want, 0x80|byte(h))
			want = hpack.AppendHuffmanString(want, s)
		} else {
			want = append(append(want, byte(len(s))), s...)
		}
		if !bytes.Equal(e.Bytes(), want) {
			t.Fatalf("content-length %d = %x, want %x", n, e.Bytes(), want)
		}
		b := decodeResponse(t, d, e.Bytes())
		if b.ContentLength != n || !reflect.DeepEqual(b.Fields, []hpack.HeaderField{hf("content-length", s)}) {
			t.Fatalf("content-length %d decoded as %+v", n, *b)
		}
	}
	for n := int64(0); n < 20000; n++ {
		check(n)
	}
	for n := int64(1); n > 0 && n < 1<<62; n = n*7 + 3 {
		check(n)
	}
	check(1<<63 - 1)
	e.Reset()
	e.WriteContentLength(0)
	if !bytes.Equal(e.Bytes(), []byte{0x0f, 0x0d, 0x01, '0'}) {
		t.Fatalf("content-length 0 = %x", e.Bytes())
	}
	e.Reset()
	e.WriteContentLength(1234) // 5+5+6+6 = 22 bits: 00001 00010 011001 011010, padded with 11
	if !bytes.Equal(e.Bytes(), []byte{0x0f, 0x0d, 0x83, 0x08, 0x99, 0x6b}) {
		t.Fatalf("content-length 1234 = %x", e.Bytes())
	}
	e.Reset()
	e.WriteContentLength(-1)
	if len(e.Bytes()) != 0 {
		t.Fatalf("content-length -1 wrote %x", e.Bytes())
	}
}

// TestHeaderEncoderNoIndex: literals without indexing never enter the
// dynamic table, names are indexed when static.
func TestHeaderEncoderNoIndex(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	date := []byte("Mon, 21 Oct 2013 20:13:21 GMT")
	e.Reset()
	e.WriteFieldNoIndex("date", date)
	want := append([]byte{0x0f, 33 - 15, byte(len(date))}, date...)
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("date = %x, want %x", e.Bytes(), want)
	}
	e.Reset()
	e.WriteStatus(404)
	e.WriteFieldNoIndex("date", date)
	e.WriteFieldNoIndex("x-request-id", []byte("abc"))         // Huffman-coded name
	e.WriteFieldNoIndex("zzzz", []byte("v"))                   // raw name (Huffman is longer)
	e.WriteFieldNoIndex("www-authenticate", []byte("Basic"))   // static index 61
	e.WriteFieldNoIndex("accept-encoding", []byte("identity")) // lowest index of the name (16)
	e.WriteFieldNoIndex(":status", []byte("200"))              // lowest index of the name (8)
	block := bytes.Clone(e.Bytes())
	prefix := append([]byte{0x8d}, want...)
	prefix = append(prefix, 0x00, 0x80|byte(hpack.HuffmanEncodeLength("x-request-id")))
	prefix = hpack.AppendHuffmanString(prefix, "x-request-id")
	prefix = append(prefix, 3, 'a', 'b', 'c', 0x00, 4, 'z', 'z', 'z', 'z', 1, 'v', 0x0f, 61-15, 5)
	prefix = append(prefix, "Basic"...)
	prefix = append(prefix, 0x0f, 16-15, 8)
	prefix = append(prefix, "identity"...)
	prefix = append(prefix, 0x08, 3, '2', '0', '0')
	if !bytes.Equal(block, prefix) {
		t.Fatalf("block = %x\nwant    %x", block, prefix)
	}
	// The trailing :status makes the block malformed; the fields before it
	// are kept.
	b, err := decodeHPACKBlock(d, 1, BlockResponse, block, 0)
	wantStreamError(t, err, 1, ErrCodeProtocol, reasonPseudoAfterRegular)
	wantFields := []hpack.HeaderField{hf("date", string(date)), hf("x-request-id", "abc"), hf("zzzz", "v"),
		hf("www-authenticate", "Basic"), hf("accept-encoding", "identity")}
	if b.Status != 404 || !reflect.DeepEqual(b.Fields, wantFields) {
		t.Fatalf("decoded %+v", *b)
	}
	if _, err := decodeHPACKBlock(d, 3, BlockTrailers, []byte{0xbe}, 0); err == nil {
		t.Fatal("the dynamic table is not empty")
	}
}

func TestHeaderEncoderIndexAndSensitive(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	e.Reset() // the first block indexes nothing (TestHeaderEncoderFirstBlock)
	e.Reset()
	e.WriteStatus(200)
	e.WriteField("content-type", "text/plain")
	e.WriteSensitive("authorization", "secret")
	e.WriteSensitive("x-token", "t")
	first := bytes.Clone(e.Bytes())
	// content-type: literal with incremental indexing, name index 31.
	if first[1] != 0x40|31 {
		t.Fatalf("content-type representation %x", first)
	}
	b := decodeResponse(t, d, first)
	want := []hpack.HeaderField{hf("content-type", "text/plain"),
		{Name: "authorization", Value: "secret", Sensitive: true}, {Name: "x-token", Value: "t", Sensitive: true}}
	if !reflect.DeepEqual(b.Fields, want) {
		t.Fatalf("fields = %+v", b.Fields)
	}
	e.Reset()
	e.WriteStatus(200)
	e.WriteField("content-type", "text/plain")
	if !bytes.Equal(e.Bytes(), []byte{0x88, 0xbe}) {
		t.Fatalf("repeat = %x, want 88be", e.Bytes())
	}
	if b := decodeResponse(t, d, e.Bytes()); !reflect.DeepEqual(b.Fields, want[:1]) {
		t.Fatalf("repeat fields = %+v", b.Fields)
	}
	// Sensitive fields never entered the table: [63] does not exist.
	if _, err := decodeHPACKBlock(d, 3, BlockResponse, []byte{0x88, 0xbf}, 0); err == nil {
		t.Fatal("a sensitive field entered the dynamic table")
	}
}

// TestHeaderEncoderFirstBlock: the encoder's first block adds nothing to
// the dynamic table (a connection that carries one response holds no
// table); the second indexes, the third finds the fields there.
func TestHeaderEncoderFirstBlock(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	want := []hpack.HeaderField{hf("content-type", "text/plain"), hf("x-k", "v")}
	for i, wantHex := range []string{"88 0f10 87 497ca58ae819aa 0003 782d 6b01 76", "88 5f87 497ca58ae819aa 4003 782d 6b01 76", "88 bf be"} {
		e.Reset()
		e.WriteStatus(200)
		e.WriteField("content-type", "text/plain")
		e.WriteField("x-k", "v")
		if got, w := hex.EncodeToString(e.Bytes()), strings.ReplaceAll(wantHex, " ", ""); got != w {
			t.Fatalf("block %d = %s, want %s", i+1, got, w)
		}
		if b := decodeResponse(t, d, e.Bytes()); !reflect.DeepEqual(b.Fields, want) {
			t.Fatalf("block %d decoded %+v", i+1, b.Fields)
		}
		if tableLen := int(e.n); tableLen != min(i, 1)*2 || (i == 0) != (e.ring == nil) {
			t.Fatalf("after block %d the table holds %d entries (ring allocated: %v)", i+1, tableLen, e.ring != nil)
		}
	}
}

// TestHeaderEncoderTableSizeUpdates checks the exact updates the encoder
// emits and that a decoder advertising the same sizes follows.
func TestHeaderEncoderTableSizeUpdates(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	block := func(setPeer ...uint32) []byte {
		t.Helper()
		for _, n := range setPeer {
			e.SetPeerMaxDynamicTableSize(n)
		}
		e.Reset()
		e.WriteStatus(200)
		e.WriteField("x-k", "v")
		out := bytes.Clone(e.Bytes())
		if b := decodeResponse(t, d, out); !reflect.DeepEqual(b.Fields, []hpack.HeaderField{hf("x-k", "v")}) {
			t.Fatalf("decoded %+v", b.Fields)
		}
		return out
	}
	steps := []struct {
		name    string
		setPeer []uint32
		want    string
	}{
		{"first block: nothing indexed", nil, "88 0003 782d 6b01 76"},
		{"second block: indexed", nil, "88 4003 782d 6b01 76"},
		{"same size: no update", []uint32{4096}, "88 be"},
		{"larger than 4096: capped, no update", []uint32{65536}, "88 be"},
		{"reduced to 8192: our table fits, but a reduction is signalled", []uint32{8192}, "3fe11f 88 be"},
		{"back to 4096: reduced again", []uint32{4096}, "3fe11f 88 be"},
		{"to 0: table emptied", []uint32{0}, "20 88 0003 782d 6b01 76"}, // 0 fits nothing: literal, not indexed
		{"0 again: no update", []uint32{0}, "88 0003 782d 6b01 76"},
		{"to 256", []uint32{256}, "3fe101 88 4003 782d 6b01 76"},
		{"down and up: minimum then final", []uint32{100, 0, 4096}, "20 3fe11f 88 4003 782d 6b01 76"},
		{"down and back to the same: minimum then final", []uint32{50, 4096}, "3f13 3fe11f 88 be"}, // x-k (36 octets) survives the cut to 50,
		{"repeat indexed", nil, "88 be"},
	}
	for _, s := range steps {
		got := block(s.setPeer...)
		if want := hpackHex(s.want); !bytes.Equal(got, want) {
			t.Fatalf("%s: block = %x, want %x", s.name, got, want)
		}
	}
	// A change made mid-block waits for the next block.
	e.Reset()
	e.WriteStatus(200)
	e.SetPeerMaxDynamicTableSize(0)
	e.WriteField("x-k", "v")
	if !bytes.Equal(e.Bytes(), []byte{0x88, 0xbe}) {
		t.Fatalf("mid-block change leaked into the block: %x", e.Bytes())
	}
	decodeResponse(t, d, e.Bytes())
	if got := block(); !bytes.Equal(got, hpackHex("20 88 0003 782d 6b01 76")) {
		t.Fatalf("next block = %x", got)
	}
}

// TestHeaderEncoderRoundTrip: encoder and decoder as peers over many blocks,
// with SETTINGS_HEADER_TABLE_SIZE changing between blocks.
func TestHeaderEncoderRoundTrip(t *testing.T) {
	e := NewHeaderEncoder()
	d := NewHeaderDecoder(4096, 1<<16)
	sizes := []uint32{4096, 0, 100, 4096, 8192, 300, 64, 4096}
	var dateBuf []byte
	for i := 0; i < 200; i++ {
		if i%25 == 24 {
			n := sizes[(i/25)%len(sizes)]
			d.SetMaxDynamicTableSize(n) // we advertise n, the peer acknowledges ...
			e.SetPeerMaxDynamicTableSize(n)
		}
		status := []int{200, 404, 302, 418, 503}[i%5]
		ctype := []string{"text/plain", "application/json", "text/html; charset=utf-8"}[i%3]
		custom := "x-custom-" + strconv.Itoa(i%7)
		dateBuf = strconv.AppendInt(dateBuf[:0], int64(1_700_000_000+i), 10)
		e.Reset()
		e.WriteStatus(status)
		e.WriteField("content-type", ctype)
		e.WriteField(custom, strings.Repeat("v", i%40))
		e.WriteSensitive("set-cookie", "id="+strconv.Itoa(i))
		e.WriteFieldNoIndex("date", dateBuf)
		e.WriteContentLength(int64(i * 1000))
		b := decodeResponse(t, d, e.Bytes())
		want := HeaderBlock{Status: status, ContentLength: int64(i * 1000), Fields: []hpack.HeaderField{
			hf("content-type", ctype), hf(custom, strings.Repeat("v", i%40)),
			{Name: "set-cookie", Value: "id=" + strconv.Itoa(i), Sensitive: true},
			hf("date", string(dateBuf)), hf("content-length", strconv.Itoa(i*1000))}}
		want.Size = listSize(want.Fields...) + listSize(hf(":status", strconv.Itoa(status)))
		if !reflect.DeepEqual(*b, want) {
			t.Fatalf("block %d = %+v\nwant       %+v", i, *b, want)
		}
	}
}

// TestHeaderEncoderToPeerDecoder: a plain hpack.Decoder (another
// implementation's view) decodes our blocks, size updates included.
func TestHeaderEncoderToPeerDecoder(t *testing.T) {
	e := NewHeaderEncoder()
	peer := hpack.NewDecoder(4096, nil)
	for i, n := range []uint32{4096, 0, 1000, 4096} {
		e.SetPeerMaxDynamicTableSize(n)
		e.Reset()
		e.WriteStatus(201)
		e.WriteField("content-type", "text/plain")
		e.WriteContentLength(int64(i))
		got, err := peer.DecodeFull(e.Bytes())
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		want := []hpack.HeaderField{hf(":status", "201"), hf("content-type", "text/plain"), hf("content-length", strconv.Itoa(i))}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("block %d = %v", i, got)
		}
	}
}

// TestStaticTable cross-checks our copy of the static table with hpack's.
func TestStaticTable(t *testing.T) {
	var got hpack.HeaderField
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { got = f })
	for i, want := range staticTable {
		if _, err := d.Write([]byte{0x80 | byte(i+1)}); err != nil {
			t.Fatal(err)
		}
		if got.Name != want.name || got.Value != want.value {
			t.Fatalf("static index %d = %v, want %q: %q", i+1, got, want.name, want.value)
		}
	}
	if staticNameIndex[":status"] != 8 || staticNameIndex["accept-encoding"] != 16 || staticNameIndex["x"] != 0 {
		t.Fatal("staticNameIndex does not give the lowest index")
	}
}

// --- allocations ---

// indexedRequest returns a request block that a decoder which has already
// decoded warm decodes from indexed fields only.
func indexedRequest() (warm, indexed []byte) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	fields := []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/api/v1/items"),
		hf(":authority", "example.com"), hf("user-agent", "h2bench/1.0"), hf("accept", "*/*"),
		hf("accept-encoding", "gzip, deflate"), hf("cookie", "session=abc123"), hf("cookie", "theme=dark")}
	warm = peerBlock(enc, &buf, fields...)
	indexed = peerBlock(enc, &buf, fields...)
	return warm, indexed
}

func TestHeaderDecoderIndexedAllocs(t *testing.T) {
	warm, indexed := indexedRequest()
	for _, c := range indexed {
		if c&0x80 == 0 {
			t.Fatalf("block %x is not fully indexed", indexed)
		}
	}
	d := NewHeaderDecoder(4096, 1<<16)
	b := new(HeaderBlock)
	if _, err := decodeHPACKBlock(d, 1, BlockRequest, warm, 0); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		d.Begin(3, BlockRequest, b)
		if err := d.Write(indexed[:5]); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(indexed[5:]); err != nil {
			t.Fatal(err)
		}
		if err := d.End(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("decoding an indexed request: %v allocs, want 0", allocs)
	}
	if b.Path != "/api/v1/items" || len(b.Fields) != 5 || b.Fields[4] != hf("cookie", "theme=dark") {
		t.Fatalf("decoded %+v", *b)
	}
}

// encodeSmallResponse is the typical response block of the benchmarks.
func encodeSmallResponse(e *HeaderEncoder, date []byte, n int64) {
	e.Reset()
	e.WriteStatus(200)
	e.WriteField("content-type", "text/plain")
	e.WriteContentLength(n)
	e.WriteFieldNoIndex("date", date)
}

func TestHeaderEncoderAllocs(t *testing.T) {
	e := NewHeaderEncoder()
	date := []byte("Mon, 21 Oct 2013 20:13:21 GMT")
	encodeSmallResponse(e, date, 13)
	n := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		n++
		encodeSmallResponse(e, date, n)
	})
	if allocs != 0 {
		t.Fatalf("encoding a small response: %v allocs, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(10, func() {
		for code := 100; code <= 999; code++ {
			e.Reset()
			e.WriteStatus(code)
			e.WriteSensitive("authorization", "x")
			e.WriteFieldNoIndex("x-request-id", date)
		}
	})
	if allocs != 0 {
		t.Fatalf("WriteStatus/WriteSensitive/WriteFieldNoIndex: %v allocs, want 0", allocs)
	}
	e.SetPeerMaxDynamicTableSize(100)
	encodeSmallResponse(e, date, 1) // the update itself may allocate once
	allocs = testing.AllocsPerRun(100, func() {
		e.SetPeerMaxDynamicTableSize(0)
		e.SetPeerMaxDynamicTableSize(4096)
		encodeSmallResponse(e, date, 1)
	})
	if allocs != 0 {
		t.Fatalf("table size updates: %v allocs, want 0", allocs)
	}
}

// TestHeaderDecoderErrorAfterTooLarge: HPACK errors after the limit is
// crossed still end the connection.
func TestHeaderDecoderErrorAfterTooLarge(t *testing.T) {
	d := NewHeaderDecoder(4096, 10)
	_, err := decodeHPACKBlock(d, 1, BlockRequest, []byte{0x82, 0xbe}, 1)
	wantConnError(t, err, ErrCodeCompression)
	d = NewHeaderDecoder(4096, 10)
	_, err = decodeHPACKBlock(d, 1, BlockRequest, []byte{0x82, 0x40, 0x03, 'a'}, 0) // truncated
	wantConnError(t, err, ErrCodeCompression)
}

// ExampleHeaderDecoder decodes the request of RFC 7541 C.3.1, sent in two
// fragments (a HEADERS and a CONTINUATION frame).
func ExampleHeaderDecoder() {
	d := NewHeaderDecoder(DefaultHeaderTableSize, 16<<10)
	var req HeaderBlock
	block := []byte("\x82\x86\x84\x41\x0fwww.example.com")
	d.Begin(1, BlockRequest, &req)
	for _, fragment := range [][]byte{block[:5], block[5:]} {
		if err := d.Write(fragment); err != nil {
			panic(err) // a *ConnError: send GOAWAY COMPRESSION_ERROR
		}
	}
	if err := d.End(); err != nil {
		panic(err)
	}
	fmt.Println(req.Method, req.Scheme, req.Authority, req.Path, req.Size)
	// Output: GET http www.example.com / 180
}

// ExampleHeaderEncoder encodes a small response block, twice: the second
// time content-type comes from the dynamic table.
func ExampleHeaderEncoder() {
	e := NewHeaderEncoder()
	date := []byte("Mon, 21 Oct 2013 20:13:21 GMT")
	// The first block indexes nothing, the second indexes content-type,
	// the third finds it in the table.
	for i := 0; i < 3; i++ {
		e.Reset()
		e.WriteStatus(200)
		e.WriteField("content-type", "text/plain")
		e.WriteContentLength(1234)
		e.WriteFieldNoIndex("date", date)
		fmt.Printf("%d bytes: % x ...\n", len(e.Bytes()), e.Bytes()[:8])
	}
	// Output:
	// 49 bytes: 88 0f 10 87 49 7c a5 8a ...
	// 48 bytes: 88 5f 87 49 7c a5 8a e8 ...
	// 40 bytes: 88 be 0f 0d 83 08 99 6b ...
}
