package codec

import (
	"testing"

	"golang.org/x/net/http2/hpack"
)

// The pre-encoded date field decodes to date and leaves the decoder's
// dynamic table empty.
func TestAppendDateField(t *testing.T) {
	const date = "Sun, 06 Nov 1994 08:49:37 GMT"
	b := AppendDateField(nil, date)
	var got []hpack.HeaderField
	d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { got = append(got, f) })
	if _, err := d.Write(b); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "date" || got[0].Value != date || got[0].Sensitive {
		t.Fatalf("decoded %+v", got)
	}
	e := NewHeaderEncoder()
	e.Reset()
	e.WriteStatus(200)
	e.WriteEncoded(b)
	got = got[:0]
	if _, err := d.Write(e.Bytes()); err != nil || len(got) != 2 || got[1].Value != date {
		t.Fatalf("in a block: %+v %v", got, err)
	}
	for n, want := range map[uint64][]byte{10: {0x8a}, 127: {0xff, 0x00}, 200: {0xff, 0x49}, 1337: {0xff, 0xba, 0x09}} {
		if b := appendHpackInt(nil, 0x80, 7, n); string(b) != string(want) {
			t.Errorf("%d: % x, want % x", n, b, want)
		}
	}
}
