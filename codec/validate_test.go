package codec

import (
	"bytes"
	"reflect"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// validationBlock encodes fields as they are (hpack does not check them) on
// a fresh table and decodes them as kind on stream 5.
func validationBlock(t *testing.T, kind BlockKind, fields []hpack.HeaderField) (*HeaderBlock, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for _, f := range fields {
		if err := enc.WriteField(f); err != nil {
			t.Fatal(err)
		}
	}
	d := NewHeaderDecoder(4096, 1<<16)
	return decodeHPACKBlock(d, 5, kind, buf.Bytes(), 3)
}

// Pseudo-header fields of a valid GET request.
var getPseudo = []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"), hf(":authority", "example.com")}

// withGET prepends the pseudo-headers of a valid GET request.
func withGET(fields ...hpack.HeaderField) []hpack.HeaderField {
	return append(append([]hpack.HeaderField{}, getPseudo...), fields...)
}

// statusOK prepends :status 200.
func statusOK(fields ...hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField{hf(":status", "200")}, fields...)
}

func TestValidateMalformed(t *testing.T) {
	tests := []struct {
		name   string
		kind   BlockKind
		fields []hpack.HeaderField
		reason string
	}{
		// §8.2.1 field names
		{"uppercase name", BlockRequest, withGET(hf("Content-Type", "text/plain")), reasonNameInvalid},
		{"uppercase last letter", BlockRequest, withGET(hf("x-fooZ", "1")), reasonNameInvalid},
		{"name with space", BlockRequest, withGET(hf("x foo", "1")), reasonNameInvalid},
		{"name with NUL", BlockRequest, withGET(hf("x\x00", "1")), reasonNameInvalid},
		{"name with HTAB", BlockRequest, withGET(hf("x\t", "1")), reasonNameInvalid},
		{"name with DEL", BlockRequest, withGET(hf("x\x7f", "1")), reasonNameInvalid},
		{"name with 0x80", BlockRequest, withGET(hf("x\x80", "1")), reasonNameInvalid},
		{"name with 0xff", BlockRequest, withGET(hf("\xffx", "1")), reasonNameInvalid},
		{"name with colon inside", BlockRequest, withGET(hf("x:y", "1")), reasonNameInvalid},
		{"empty name", BlockRequest, withGET(hf("", "1")), reasonNameEmpty},
		{"uppercase name in trailers", BlockTrailers, []hpack.HeaderField{hf("Grpc-Status", "0")}, reasonNameInvalid},
		{"uppercase name in response", BlockResponse, statusOK(hf("Server", "x")), reasonNameInvalid},
		// §8.2.1 field values
		{"value with NUL", BlockRequest, withGET(hf("x", "a\x00b")), reasonValueInvalid},
		{"value with CR", BlockRequest, withGET(hf("x", "a\rb")), reasonValueInvalid},
		{"value with LF", BlockRequest, withGET(hf("x", "a\nb")), reasonValueInvalid},
		{"value with CRLF at the end", BlockRequest, withGET(hf("x", "ab\r\n")), reasonValueInvalid},
		{"value with leading SP", BlockRequest, withGET(hf("x", " a")), reasonValueWhitespace},
		{"value with leading HTAB", BlockRequest, withGET(hf("x", "\ta")), reasonValueWhitespace},
		{"value with trailing SP", BlockRequest, withGET(hf("x", "a ")), reasonValueWhitespace},
		{"value with trailing HTAB", BlockRequest, withGET(hf("x", "a\t")), reasonValueWhitespace},
		{"value only SP", BlockRequest, withGET(hf("x", " ")), reasonValueWhitespace},
		{"pseudo value with LF", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/\n")}, reasonValueInvalid},
		{"pseudo value with trailing SP", BlockRequest, []hpack.HeaderField{hf(":method", "GET "), hf(":scheme", "https"), hf(":path", "/")}, reasonValueWhitespace},
		{"trailer value with CR", BlockTrailers, []hpack.HeaderField{hf("x", "\r")}, reasonValueInvalid},
		// §8.2.2 connection-specific fields, TE
		{"connection", BlockRequest, withGET(hf("connection", "keep-alive")), reasonConnectionSpecific},
		{"keep-alive", BlockRequest, withGET(hf("keep-alive", "timeout=5")), reasonConnectionSpecific},
		{"proxy-connection", BlockRequest, withGET(hf("proxy-connection", "close")), reasonConnectionSpecific},
		{"transfer-encoding", BlockRequest, withGET(hf("transfer-encoding", "chunked")), reasonConnectionSpecific},
		{"upgrade", BlockRequest, withGET(hf("upgrade", "h2c")), reasonConnectionSpecific},
		{"connection in response", BlockResponse, statusOK(hf("connection", "close")), reasonConnectionSpecific},
		{"transfer-encoding in trailers", BlockTrailers, []hpack.HeaderField{hf("transfer-encoding", "chunked")}, reasonConnectionSpecific},
		{"te gzip", BlockRequest, withGET(hf("te", "gzip")), reasonTE},
		{"te trailers with more", BlockRequest, withGET(hf("te", "trailers, deflate")), reasonTE},
		{"te Trailers", BlockRequest, withGET(hf("te", "Trailers")), reasonTE},
		{"te empty", BlockRequest, withGET(hf("te", "")), reasonTE},
		// content-length
		{"content-length letters", BlockRequest, withGET(hf("content-length", "abc")), reasonContentLength},
		{"content-length empty", BlockRequest, withGET(hf("content-length", "")), reasonContentLength},
		{"content-length negative", BlockRequest, withGET(hf("content-length", "-1")), reasonContentLength},
		{"content-length plus", BlockRequest, withGET(hf("content-length", "+5")), reasonContentLength},
		{"content-length list", BlockRequest, withGET(hf("content-length", "5, 5")), reasonContentLength},
		{"content-length inner space", BlockRequest, withGET(hf("content-length", "1 2")), reasonContentLength},
		{"content-length overflow", BlockRequest, withGET(hf("content-length", "9223372036854775808")), reasonContentLength},
		{"content-length 20 digits", BlockRequest, withGET(hf("content-length", "00000000000000000001")), reasonContentLength},
		{"content-length differing", BlockRequest, withGET(hf("content-length", "5"), hf("content-length", "6")), reasonContentLengthDiff},
		{"content-length differing in response", BlockResponse, statusOK(hf("content-length", "0"), hf("x", "y"), hf("content-length", "10")), reasonContentLengthDiff},
		// §8.3 pseudo-header placement and names
		{"pseudo after regular", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf("x", "1"), hf(":path", "/")}, reasonPseudoAfterRegular},
		{"status after regular", BlockResponse, []hpack.HeaderField{hf("x", "1"), hf(":status", "200")}, reasonPseudoAfterRegular},
		{"duplicate :method", BlockRequest, withGET(hf(":method", "GET")), reasonPseudoDuplicate},
		{"duplicate :path", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/"), hf(":path", "/")}, reasonPseudoDuplicate},
		{"duplicate :method before others", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":method", "POST"), hf(":scheme", "https"), hf(":path", "/")}, reasonPseudoDuplicate},
		{"duplicate :authority", BlockRequest, append(withGET(), hf(":authority", "example.com")), reasonPseudoDuplicate},
		{"duplicate :status", BlockResponse, []hpack.HeaderField{hf(":status", "200"), hf(":status", "200")}, reasonPseudoDuplicate},
		{"duplicate :protocol", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":protocol", "websocket")}, reasonPseudoDuplicate},
		{"unknown pseudo", BlockRequest, append(withGET(), hf(":foo", "bar")), reasonPseudoUnknown},
		{"uppercase pseudo", BlockRequest, []hpack.HeaderField{hf(":Method", "GET"), hf(":scheme", "https"), hf(":path", "/")}, reasonPseudoUnknown},
		{"bare colon", BlockRequest, append(withGET(), hf(":", "x")), reasonPseudoUnknown},
		{"unknown pseudo in response", BlockResponse, []hpack.HeaderField{hf(":status", "200"), hf(":reason", "OK")}, reasonPseudoUnknown},
		{":status in request", BlockRequest, append(withGET(), hf(":status", "200")), reasonPseudoWrongKind},
		{":method in response", BlockResponse, []hpack.HeaderField{hf(":status", "200"), hf(":method", "GET")}, reasonPseudoWrongKind},
		{":path in response", BlockResponse, []hpack.HeaderField{hf(":path", "/"), hf(":status", "200")}, reasonPseudoWrongKind},
		{":protocol in response", BlockResponse, []hpack.HeaderField{hf(":status", "200"), hf(":protocol", "websocket")}, reasonPseudoWrongKind},
		{":status in trailers", BlockTrailers, []hpack.HeaderField{hf(":status", "200")}, reasonPseudoInTrailers},
		{":method in trailers", BlockTrailers, []hpack.HeaderField{hf("x", "1"), hf(":method", "GET")}, reasonPseudoInTrailers},
		{":path in trailers", BlockTrailers, []hpack.HeaderField{hf(":path", "/")}, reasonPseudoInTrailers},
		// §8.3.1 request pseudo-headers
		{"no :method", BlockRequest, []hpack.HeaderField{hf(":scheme", "https"), hf(":path", "/")}, reasonMethodMissing},
		{"empty :method", BlockRequest, []hpack.HeaderField{hf(":method", ""), hf(":scheme", "https"), hf(":path", "/")}, reasonMethodMissing},
		{"no :scheme", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":path", "/")}, reasonSchemeMissing},
		{"empty :scheme", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", ""), hf(":path", "/")}, reasonSchemeMissing},
		{"no :path", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https")}, reasonPathMissing},
		{"empty :path", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "")}, reasonPathEmpty},
		{"empty block", BlockRequest, nil, reasonMethodMissing},
		{"only regular fields", BlockRequest, []hpack.HeaderField{hf("host", "example.com")}, reasonMethodMissing},
		// §8.5 CONNECT, RFC 8441 extended CONNECT
		{"CONNECT with :scheme", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":authority", "example.com:443"), hf(":scheme", "https")}, reasonConnectScheme},
		{"CONNECT with :path", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":authority", "example.com:443"), hf(":path", "/")}, reasonConnectScheme},
		{"CONNECT without :authority", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT")}, reasonConnectAuthority},
		{"CONNECT with empty :authority", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":authority", "")}, reasonConnectAuthority},
		{"extended CONNECT without :scheme", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":path", "/chat"), hf(":authority", "example.com")}, reasonSchemeMissing},
		{"extended CONNECT without :path", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"), hf(":authority", "example.com")}, reasonPathMissing},
		{"extended CONNECT with empty :path", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"), hf(":path", ""), hf(":authority", "example.com")}, reasonPathEmpty},
		{"extended CONNECT without :authority", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"), hf(":path", "/chat")}, reasonConnectAuthority},
		{":protocol with GET", BlockRequest, append(withGET(), hf(":protocol", "websocket")), reasonProtocolMethod},
		{"host differs from :authority", BlockRequest, withGET(hf("host", "example.org")), reasonHostAuthority},
		{"host differs in port", BlockRequest, withGET(hf("host", "example.com:8443")), reasonHostAuthority},
		{"host with the other scheme's port", BlockRequest, withGET(hf("host", "example.com:80")), reasonHostAuthority},
		// §8.3.2 response
		{"no :status", BlockResponse, []hpack.HeaderField{hf("content-type", "text/plain")}, reasonStatusMissing},
		{"empty response", BlockResponse, nil, reasonStatusMissing},
		{"status two digits", BlockResponse, []hpack.HeaderField{hf(":status", "20")}, reasonStatusInvalid},
		{"status four digits", BlockResponse, []hpack.HeaderField{hf(":status", "2000")}, reasonStatusInvalid},
		{"status letters", BlockResponse, []hpack.HeaderField{hf(":status", "abc")}, reasonStatusInvalid},
		{"status leading zero", BlockResponse, []hpack.HeaderField{hf(":status", "099")}, reasonStatusInvalid},
		{"status with sign", BlockResponse, []hpack.HeaderField{hf(":status", "+20")}, reasonStatusInvalid},
		{"status empty", BlockResponse, []hpack.HeaderField{hf(":status", "")}, reasonStatusInvalid},
		{"status 20x", BlockResponse, []hpack.HeaderField{hf(":status", "20x")}, reasonStatusInvalid},
		// the first violation wins
		{"first of two violations", BlockRequest, withGET(hf("te", "gzip"), hf("Upper", "1")), reasonTE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := validationBlock(t, tt.kind, tt.fields)
			wantStreamError(t, err, 5, ErrCodeProtocol, tt.reason)
		})
	}
}

func TestValidateAccepted(t *testing.T) {
	tests := []struct {
		name   string
		kind   BlockKind
		fields []hpack.HeaderField
		want   HeaderBlock // the test fills in Fields, Size, and ContentLength -1 when there is no content-length
	}{
		{"GET", BlockRequest, withGET(),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"no :authority", BlockRequest, []hpack.HeaderField{hf(":method", "GET"), hf(":scheme", "http"), hf(":path", "*"), hf("host", "example.com")},
			HeaderBlock{Method: "GET", Scheme: "http", Path: "*"}},
		{"pseudo in any order", BlockRequest, []hpack.HeaderField{hf(":path", "/a?b=c"), hf(":authority", "h"), hf(":scheme", "https"), hf(":method", "POST")},
			HeaderBlock{Method: "POST", Scheme: "https", Path: "/a?b=c", Authority: "h"}},
		{"host equal to :authority", BlockRequest, withGET(hf("host", "example.com")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"host differing in case", BlockRequest, withGET(hf("host", "Example.COM")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"host with the default port", BlockRequest, withGET(hf("host", "example.com:443")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"te trailers", BlockRequest, withGET(hf("te", "trailers")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"values with inner whitespace, obs-text and empty", BlockRequest,
			withGET(hf("x-a", "a b\tc"), hf("x-b", "caf\xc3\xa9"), hf("x-c", ""), hf("x-d", "!#$%&'*+-.^_`|~")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"names with digits and symbols", BlockRequest, withGET(hf("x-1_2.3!#$%&'*+^`|~", "v")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"cookie crumbs stay separate", BlockRequest, withGET(hf("cookie", "a=1"), hf("accept", "*/*"), hf("cookie", "b=2")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com"}},
		{"content-length", BlockRequest, append([]hpack.HeaderField{hf(":method", "POST")}, withGET(hf("content-length", "42"))[1:]...),
			HeaderBlock{Method: "POST", Scheme: "https", Path: "/", Authority: "example.com", ContentLength: 42}},
		{"content-length repeated, equal", BlockRequest, withGET(hf("content-length", "7"), hf("content-length", "7")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com", ContentLength: 7}},
		{"content-length zero", BlockRequest, withGET(hf("content-length", "0")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com", ContentLength: 0}},
		{"content-length max", BlockRequest, withGET(hf("content-length", "9223372036854775807")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com", ContentLength: 1<<63 - 1}},
		{"content-length leading zeros", BlockRequest, withGET(hf("content-length", "0012")),
			HeaderBlock{Method: "GET", Scheme: "https", Path: "/", Authority: "example.com", ContentLength: 12}},
		{"CONNECT", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":authority", "example.com:443")},
			HeaderBlock{Method: "CONNECT", Authority: "example.com:443"}},
		{"extended CONNECT", BlockRequest, []hpack.HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"), hf(":path", "/chat"), hf(":authority", "example.com"), hf("sec-websocket-version", "13")},
			HeaderBlock{Method: "CONNECT", Protocol: "websocket", Scheme: "https", Path: "/chat", Authority: "example.com"}},
		{"response", BlockResponse, statusOK(hf("content-type", "text/plain"), hf("content-length", "5")),
			HeaderBlock{Status: 200, ContentLength: 5}},
		{"interim response", BlockResponse, []hpack.HeaderField{hf(":status", "103"), hf("link", "</a.css>; rel=preload")},
			HeaderBlock{Status: 103}},
		{"status 999", BlockResponse, []hpack.HeaderField{hf(":status", "999")}, HeaderBlock{Status: 999}},
		{"te in response", BlockResponse, statusOK(hf("te", "trailers")), HeaderBlock{Status: 200}},
		{"trailers", BlockTrailers, []hpack.HeaderField{hf("grpc-status", "0"), hf("grpc-message", "ok")}, HeaderBlock{}},
		{"empty trailers", BlockTrailers, nil, HeaderBlock{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := validationBlock(t, tt.kind, tt.fields)
			if err != nil {
				t.Fatalf("End = %v", err)
			}
			want := tt.want
			hasCL := false
			for _, f := range tt.fields {
				if !f.IsPseudo() {
					want.Fields = append(want.Fields, f)
				}
				hasCL = hasCL || f.Name == "content-length"
			}
			if !hasCL {
				want.ContentLength = -1
			}
			want.Size = listSize(tt.fields...)
			if !reflect.DeepEqual(*b, want) {
				t.Fatalf("block = %+v\nwant    %+v", *b, want)
			}
		})
	}
}

// TestValidateNameTable checks every byte against the ranges of RFC 9113
// §8.2.1 spelled out differently.
func TestValidateNameTable(t *testing.T) {
	for c := 0; c < 256; c++ {
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || bytes.IndexByte([]byte("!\"#$%&'()*+,-./;<=>?@[\\]^_`{|}~"), byte(c)) >= 0
		if got := checkName(string([]byte{byte(c)})) == ""; got != ok {
			t.Errorf("name byte %#x: valid = %v, want %v", c, got, ok)
		}
	}
}

func TestBlockKindString(t *testing.T) {
	for k, want := range map[BlockKind]string{BlockRequest: "request", BlockResponse: "response", BlockTrailers: "trailers", 7: "BlockKind(invalid)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}

// TestValidateReuse: a block decoded after a malformed one on the same
// decoder and HeaderBlock starts clean.
func TestValidateReuse(t *testing.T) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	d := NewHeaderDecoder(4096, 1<<16)
	b := new(HeaderBlock)
	blocks := [][]hpack.HeaderField{
		withGET(hf("connection", "close")),
		statusOK(hf("content-length", "3")),
		withGET(hf("content-length", "4")),
	}
	kinds := []BlockKind{BlockRequest, BlockResponse, BlockRequest}
	for i, fields := range blocks {
		buf.Reset()
		for _, f := range fields {
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		d.Begin(uint32(2*i+1), kinds[i], b)
		if err := d.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		err := d.End()
		switch i {
		case 0:
			wantStreamError(t, err, 1, ErrCodeProtocol, reasonConnectionSpecific)
		case 1:
			if err != nil || b.Status != 200 || b.ContentLength != 3 || b.Method != "" {
				t.Fatalf("response after malformed request: %v %+v", err, *b)
			}
		case 2:
			if err != nil || b.Status != 0 || b.ContentLength != 4 || b.Method != "GET" || len(b.Fields) != 1 {
				t.Fatalf("request after response: %v %+v", err, *b)
			}
		}
	}
}

// TestValidValueCache: a value found valid is not scanned again when the
// same string comes back (an indexed field), and a different string with
// the same bytes, or an invalid one, is still checked.
func TestValidValueCache(t *testing.T) {
	d := NewHeaderDecoder(4096, 1<<16)
	ua := "h2load nghttp2/1.64.0"
	for i := 0; i < 3; i++ {
		if r := d.checkValue(ua); r != "" {
			t.Fatalf("%q: %s", ua, r)
		}
	}
	if d.valid[0] != ua || d.validNext != 1 {
		t.Fatalf("cache %q, next %d: want the value cached once", d.valid, d.validNext)
	}
	bad := []byte("h2load nghttp2/1.64.0")
	bad[3] = '\n'
	if r := d.checkValue(string(bad)); r != reasonValueInvalid {
		t.Fatalf("invalid value of the same length: %q", r)
	}
	if r := d.checkValue(" " + ua[1:]); r != reasonValueWhitespace {
		t.Fatalf("leading space: %q", r)
	}
	if allocs := testing.AllocsPerRun(100, func() { d.checkValue(ua) }); allocs != 0 {
		t.Fatalf("%v allocs", allocs)
	}
}

func BenchmarkCheckValueIndexed(b *testing.B) {
	d := NewHeaderDecoder(4096, 1<<16)
	vs := []string{"h2load nghttp2/1.64.0", "www.example.com:8443", "/api/v1/items?page=2"}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vs {
			d.checkValue(v)
		}
	}
}
