package http1

import (
	"strings"
	"testing"
)

func TestAppendStatusLine(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{200, "HTTP/1.1 200 OK\r\n"},
		{404, "HTTP/1.1 404 Not Found\r\n"},
		{413, "HTTP/1.1 413 Content Too Large\r\n"},
		{431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{599, "HTTP/1.1 599 \r\n"},
		{0, "HTTP/1.1 500 Internal Server Error\r\n"},
		{1000, "HTTP/1.1 500 Internal Server Error\r\n"},
	}
	for _, tt := range tests {
		if got := string(AppendStatusLine([]byte("x"), tt.code)); got != "x"+tt.want {
			t.Errorf("AppendStatusLine(%d) = %q, want %q", tt.code, got, "x"+tt.want)
		}
	}
}

func TestAppendField(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"content-type", "text/plain", "Content-Type: text/plain\r\n"},
		{"x-REQUEST-id", " a b ", "X-Request-Id: a b\r\n"},
		{"etag", "\"x\"", "Etag: \"x\"\r\n"},
		{"x-split", "a\r\nSet-Cookie: evil", "X-Split: a  Set-Cookie: evil\r\n"},
		{"x-nul", "a\x00b\x7fc", "X-Nul: a b c\r\n"},
		{"x-obs", "caf\xc3\xa9\tok", "X-Obs: caf\xc3\xa9\tok\r\n"},
		{"bad name", "v", ""},
		{"", "v", ""},
		{"x\r\ny", "v", ""},
	}
	for _, tt := range tests {
		if got := string(AppendField(nil, tt.name, tt.value)); got != tt.want {
			t.Errorf("AppendField(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
		if got := string(AppendField(nil, tt.name, []byte(tt.value))); got != tt.want {
			t.Errorf("AppendField(%q, []byte %q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestAppendFraming(t *testing.T) {
	var b []byte
	b = AppendContentLength(b, 1234)
	b = AppendChunk(b, []byte("hello world, this is 31 bytes!!"))
	b = AppendChunk(b, nil)
	b = AppendChunkHeader(b, 4096)
	b = AppendLastChunk(b)
	want := "Content-Length: 1234\r\n1f\r\nhello world, this is 31 bytes!!\r\n1000\r\n0\r\n"
	if string(b) != want {
		t.Fatalf("got %q, want %q", b, want)
	}
}

func TestStatusTextKnown(t *testing.T) {
	for _, code := range []int{100, 101, 200, 204, 206, 301, 304, 400, 404, 413, 414, 417, 431, 500, 501, 505} {
		if StatusText(code) == "" {
			t.Errorf("StatusText(%d) is empty", code)
		}
	}
}

func TestAppendNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendStatusLine(buf[:0], 404)
		b = AppendField(b, "content-type", "text/plain")
		b = AppendContentLength(b, 12)
		_ = AppendChunk(b, []byte("abc"))
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per run, want 0", allocs)
	}
}

func TestInterner(t *testing.T) {
	var in Interner
	if s := in.String([]byte("GET")); s != "GET" {
		t.Fatal(s)
	}
	a := in.String([]byte("/some/path"))
	b := in.String([]byte("/some/path"))
	if a != "/some/path" || b != a {
		t.Fatalf("%q %q", a, b)
	}
	if got := in.Lower([]byte("X-Custom-HEADER")); got != "x-custom-header" {
		t.Fatal(got)
	}
	long := strings.Repeat("AbC", 40) // above maxLowered
	if got := in.Lower([]byte(long)); got != strings.ToLower(long) {
		t.Fatal(got)
	}
	huge := strings.Repeat("z", maxInterned+1)
	if got := in.String([]byte(huge)); got != huge {
		t.Fatal("huge")
	}
	// Repeated strings, common names and values: no allocation.
	fields := [][]byte{[]byte("/some/path"), []byte("Host"), []byte("localhost:8080"), []byte("curl/8.0"), []byte("*/*")}
	for _, f := range fields {
		in.String(f)
		in.Lower(f)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range fields {
			in.String(f)
			in.Lower(f)
		}
	})
	if allocs != 0 {
		t.Fatalf("Interner allocates %v times per run, want 0", allocs)
	}
	// A different value in the same slot replaces it and is right.
	for i := 0; i < 6*internSets; i++ {
		v := strings.Repeat("q", i+1)
		if got := in.String([]byte(v)); got != v {
			t.Fatalf("%q != %q", got, v)
		}
	}
}

func TestDecodeHTTP2Settings(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"AAMAAABkAAQAoAAAAAIAAAAA", "\x00\x03\x00\x00\x00\x64\x00\x04\x00\xa0\x00\x00\x00\x02\x00\x00\x00\x00", true},
		{"AAMAAABk", "\x00\x03\x00\x00\x00\x64", true},
		{"", "", true},
		{"AAMAAABkAA==", "", false}, // 7 bytes: not whole settings
		{"AAMAAAB-", "\x00\x03\x00\x00\x00\x7e", true},
		{"AAMAAAB+", "", false}, // std alphabet
		{"AAM", "", false},
		{"AAMAAABk====", "\x00\x03\x00\x00\x00\x64", true},
	}
	for _, tt := range tests {
		got, ok := DecodeHTTP2Settings([]byte(tt.in))
		if ok != tt.ok || ok && string(got) != tt.want {
			t.Errorf("DecodeHTTP2Settings(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
