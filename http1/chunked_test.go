package http1

import (
	"fmt"
	"strings"
	"testing"
)

func TestChunkedDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		max      int64
		n        int // bytes consumed
		body     string
		done     bool
		trailers string
		err      *Error
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\nNEXT", 100, 15, "hello", true, "", nil},
		{"two chunks, hex, ext", "3;a=b\r\nabc\r\nA ; x=\"y z\"\r\n0123456789\r\n0\r\n\r\n", 100, 42, "abc0123456789", true, "", nil},
		{"uppercase hex, leading zeros", "000B\r\nhello world\r\n0\r\n\r\n", 100, 24, "hello world", true, "", nil},
		{"trailers", "1\r\nx\r\n0\r\nA: 1\r\nB-c:  two \r\n\r\nrest", 100, 29, "x", true, "A=1;B-c=two;", nil},
		{"empty body", "0\r\n\r\n", 100, 5, "", true, "", nil},
		{"partial size line", "5\r", 100, 0, "", false, "", nil},
		{"partial data consumed", "5\r\nhel", 100, 6, "hel", false, "", nil},
		{"partial trailer section left", "0\r\nA: 1\r\n", 100, 3, "", false, "", nil},
		{"body at the limit", "4\r\nabcd\r\n0\r\n\r\n", 4, 14, "abcd", true, "", nil},
		{"body over the limit", "4\r\nabcd\r\n1\r\n", 4, 12, "abcd", false, "", ErrBodyTooLarge},
		{"size over the limit before data", "ffffff\r\n", 100, 8, "", false, "", ErrBodyTooLarge},
		{"no digits", "\r\n", 100, 0, "", false, "", ErrChunkSize},
		{"bad digit", "5g\r\nhello\r\n", 100, 0, "", false, "", ErrChunkSize},
		{"negative", "-5\r\n", 100, 0, "", false, "", ErrChunkSize},
		{"overflow", "10000000000000000\r\n", 1 << 62, 0, "", false, "", ErrChunkSize},
		{"control in extension", "5;a\x01\r\n", 100, 0, "", false, "", ErrChunkSize},
		{"bare LF size line", "5\nhello\r\n", 100, 0, "", false, "", ErrBareLineEnd},
		{"data not followed by CRLF", "5\r\nhelloX\r\n", 100, 8, "hello", false, "", ErrChunkEnd},
		{"data followed by LF", "5\r\nhello\n", 100, 8, "hello", false, "", ErrChunkEnd},
		{"size line too long", "1;" + strings.Repeat("x", maxChunkLine), 100, 0, "", false, "", ErrChunkSize},
		{"bad trailer", "0\r\nA : 1\r\n\r\n", 100, 3, "", false, "", ErrFieldNameSpace},
		{"trailer obs-fold", "0\r\nA: 1\r\n 2\r\n\r\n", 100, 3, "", false, "", ErrObsFold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d ChunkedDecoder
			n, body, done, err := d.Decode([]byte(tt.in), nil, tt.max, nil)
			var errWant error
			if tt.err != nil {
				errWant = tt.err
			}
			if n != tt.n || string(body) != tt.body || done != tt.done || err != errWant {
				t.Fatalf("Decode = %d, %q, %v, %v; want %d, %q, %v, %v", n, body, done, err, tt.n, tt.body, tt.done, tt.err)
			}
			var tr strings.Builder
			for _, f := range d.Trailers {
				fmt.Fprintf(&tr, "%s=%s;", f.Name, f.Value)
			}
			if done && tr.String() != tt.trailers {
				t.Fatalf("trailers %q, want %q", tr.String(), tt.trailers)
			}
		})
	}
}

// TestChunkedPieces feeds a body in every split of two pieces, as a
// connection would: unconsumed bytes are offered again with the new ones.
func TestChunkedPieces(t *testing.T) {
	in := "3;ext\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: v\r\n\r\n"
	for split := 0; split <= len(in); split++ {
		var d ChunkedDecoder
		var body []byte
		buf := []byte(in[:split])
		n, body, done, err := d.Decode(buf, body, 1000, nil)
		if err != nil || done && split < len(in) {
			t.Fatalf("split %d: first piece %d, %v, %v", split, n, done, err)
		}
		buf = append(buf[n:], in[split:]...)
		n, body, done, err = d.Decode(buf, body, 1000, nil)
		if err != nil || !done || n != len(buf) || string(body) != "abc0123456789abcdef" {
			t.Fatalf("split %d: %d of %d, %q, %v, %v", split, n, len(buf), body, done, err)
		}
		if len(d.Trailers) != 1 || string(d.Trailers[0].Name) != "X-T" || string(d.Trailers[0].Value) != "v" {
			t.Fatalf("split %d: trailers %q", split, d.Trailers)
		}
		if d.Len() != 19 {
			t.Fatalf("Len = %d", d.Len())
		}
	}
}

func TestChunkedTrailerLimits(t *testing.T) {
	var d ChunkedDecoder
	in := "0\r\nA: " + strings.Repeat("v", 100) + "\r\n\r\n"
	_, _, _, err := d.Decode([]byte(in), nil, 10, &Limits{MaxHeadBytes: 50})
	if err != ErrHeadTooLarge {
		t.Fatalf("err = %v, want ErrHeadTooLarge", err)
	}
	d.Reset()
	_, _, _, err = d.Decode([]byte("0\r\nA: 1\r\nB: 2\r\n\r\n"), nil, 10, &Limits{MaxFields: 1})
	if err != ErrTooManyFields {
		t.Fatalf("err = %v, want ErrTooManyFields", err)
	}
	d.Reset()
	n, _, done, err := d.Decode([]byte("0\r\n\r\n"), nil, 0, nil)
	if n != 5 || !done || err != nil {
		t.Fatalf("empty body with limit 0: %d, %v, %v", n, done, err)
	}
	// After done, more input is not consumed.
	n, _, done, err = d.Decode([]byte("GET"), nil, 0, nil)
	if n != 0 || !done || err != nil {
		t.Fatalf("after done: %d, %v, %v", n, done, err)
	}
}

func TestChunkedNoAllocs(t *testing.T) {
	in := []byte("5\r\nhello\r\n0\r\nA: 1\r\n\r\n")
	var d ChunkedDecoder
	body := make([]byte, 0, 64)
	d.Decode(in, body, 100, nil)
	allocs := testing.AllocsPerRun(100, func() {
		d.Reset()
		if _, _, done, err := d.Decode(in, body[:0], 100, nil); !done || err != nil {
			t.Fatal(done, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Decode allocates %v times per run, want 0", allocs)
	}
}
