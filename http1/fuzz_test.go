package http1

import (
	"bytes"
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n",
	"GET /x?y=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"GET http://h:80/p HTTP/1.1\r\nHost: x\r\n\r\n",
	"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	"INVALID CONNECTION PREFACE\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

// FuzzParseRequest checks that ParseRequest never panics, that a head it
// accepts is self-consistent and parses the same on its own, that every
// shorter prefix of it is merely incomplete, and that a chunked body after
// it decodes the same in one piece and in two.
func FuzzParseRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint16(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		lim := &Limits{MaxHeadBytes: 512, MaxFields: 16}
		var r Request
		n, err := ParseRequest(data, &r, lim)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		if n == 0 {
			if len(data) >= lim.MaxHeadBytes {
				t.Fatalf("incomplete with %d bytes and a %d byte limit", len(data), lim.MaxHeadBytes)
			}
			return
		}
		if n > len(data) || n > lim.MaxHeadBytes || !bytes.HasSuffix(data[:n], []byte("\r\n\r\n")) {
			t.Fatalf("head length %d of %d: %q", n, len(data), data[:min(n, len(data))])
		}
		checkRequest(t, &r)
		want := summarize(&r)

		var r2 Request
		n2, err := ParseRequest(data[:n:n], &r2, lim)
		if n2 != n || err != nil {
			t.Fatalf("head alone: %d, %v; want %d", n2, err, n)
		}
		if got := summarize(&r2); !reflect.DeepEqual(got, want) {
			t.Fatalf("head alone parses differently:\n%+v\n%+v", got, want)
		}
		k := int(split) % n
		if n3, err := ParseRequest(data[:k], &r2, lim); n3 != 0 || err != nil {
			t.Fatalf("prefix of %d: %d, %v", k, n3, err)
		}

		if r.Chunked {
			body := data[n:]
			var d1 ChunkedDecoder
			u1, b1, done1, err1 := d1.Decode(body, nil, 1<<20, lim)
			var d2 ChunkedDecoder
			cut := int(split) % (len(body) + 1)
			u2, b2, _, err2 := d2.Decode(body[:cut], nil, 1<<20, lim)
			if err2 == nil {
				rest := append(append([]byte(nil), body[u2:cut]...), body[cut:]...)
				var u3 int
				var done2 bool
				u3, b2, done2, err2 = d2.Decode(rest, b2, 1<<20, lim)
				u2 += u3
				if err1 == nil && err2 == nil && (done1 != done2 || u1 != u2 || !bytes.Equal(b1, b2)) {
					t.Fatalf("one piece: %d %q %v; two: %d %q %v", u1, b1, done1, u2, b2, done2)
				}
			}
			if (err1 == nil) != (err2 == nil) && done1 {
				t.Fatalf("one piece: %v; two pieces: %v", err1, err2)
			}
			if done1 {
				for _, f := range d1.Trailers {
					checkField(t, f)
				}
			}
		}
	})
}

func checkRequest(t *testing.T, r *Request) {
	t.Helper()
	if !IsToken(r.Method) {
		t.Fatalf("method %q", r.Method)
	}
	if r.Minor != 0 && r.Minor != 1 {
		t.Fatalf("minor %d", r.Minor)
	}
	if r.Chunked && r.ContentLength >= 0 {
		t.Fatal("chunked with a content-length")
	}
	if r.Minor == 1 && !r.HasHost {
		t.Fatal("HTTP/1.1 without Host")
	}
	if r.UpgradeH2C && (r.Minor != 1 || r.HTTP2Settings == nil) {
		t.Fatal("bad upgrade")
	}
	for _, c := range r.Target {
		if c <= ' ' || c == 0x7f {
			t.Fatalf("target %q", r.Target)
		}
	}
	switch r.Form {
	case FormOrigin:
		if r.Path[0] != '/' {
			t.Fatalf("origin path %q", r.Path)
		}
	case FormAuthority, FormAbsolute:
		if len(r.Authority) == 0 {
			t.Fatal("empty authority")
		}
	}
	hosts := 0
	for _, f := range r.Fields {
		checkField(t, f)
		if f.Kind == KindHost {
			hosts++
		}
	}
	if hosts > 1 {
		t.Fatal("two hosts")
	}
}

func checkField(t *testing.T, f Field) {
	t.Helper()
	if !IsToken(f.Name) || f.Kind != kindOf(f.Name) {
		t.Fatalf("field name %q kind %d", f.Name, f.Kind)
	}
	if bytes.ContainsAny(f.Value, "\r\n\x00") || len(trimOWS(f.Value)) != len(f.Value) {
		t.Fatalf("field value %q", f.Value)
	}
}

// FuzzAppendField checks that no name or value can break the framing of a
// response head.
func FuzzAppendField(f *testing.F) {
	f.Add("content-type", "text/plain")
	f.Add("x", "a\r\nb")
	f.Fuzz(func(t *testing.T, name, value string) {
		out := AppendField(nil, name, value)
		if len(out) == 0 {
			if isTokenString(name) {
				t.Fatal("token name dropped")
			}
			return
		}
		if !bytes.HasSuffix(out, []byte("\r\n")) || bytes.ContainsAny(out[:len(out)-2], "\r\n\x00") {
			t.Fatalf("%q", out)
		}
		if kindOf([]byte(name)) != KindOther {
			return // fields the parser interprets have their own rules
		}
		var r Request
		head := append([]byte("GET / HTTP/1.1\r\nHost: h\r\n"), out...)
		head = append(head, "\r\n"...)
		if n, err := ParseRequest(head, &r, nil); n != len(head) || err != nil || len(r.Fields) != 2 {
			t.Fatalf("our own field line %q does not parse: %d, %v", out, n, err)
		}
	})
}
