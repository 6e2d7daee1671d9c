package http1

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// summary is a Request with strings, for comparisons.
type summary struct {
	Method, Target, Path, Authority string
	Form                            Form
	HTTPS                           bool
	Minor                           int
	Fields                          string // "name=value(kind);..."
	ContentLength                   int64
	Chunked, KeepAlive, KAOption    bool
	Expect100, UpgradeH2C           bool
	Settings                        string
}

func summarize(r *Request) summary {
	var f strings.Builder
	for _, x := range r.Fields {
		fmt.Fprintf(&f, "%s=%s(%d);", x.Name, x.Value, x.Kind)
	}
	return summary{
		Method: string(r.Method), Target: string(r.Target), Path: string(r.Path),
		Authority: string(r.Authority), Form: r.Form, HTTPS: r.HTTPS, Minor: r.Minor,
		Fields: f.String(), ContentLength: r.ContentLength, Chunked: r.Chunked,
		KeepAlive: r.KeepAlive, KAOption: r.KeepAliveOption, Expect100: r.Expect100,
		UpgradeH2C: r.UpgradeH2C, Settings: string(r.HTTP2Settings),
	}
}

func TestParseRequestOK(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want summary
	}{
		{"simple GET", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "a.example", Minor: 1,
			Fields: "Host=a.example(1);", ContentLength: -1, KeepAlive: true}},
		{"OWS trimmed, order kept", "GET /x?y=1 HTTP/1.1\r\nHost:h\r\nX-A: \t v 1 \t\r\nx-a:2\r\n\r\n", summary{
			Method: "GET", Target: "/x?y=1", Path: "/x?y=1", Authority: "h", Minor: 1,
			Fields: "Host=h(1);X-A=v 1(0);x-a=2(0);", ContentLength: -1, KeepAlive: true}},
		{"empty value", "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);X-Empty=(0);", ContentLength: -1, KeepAlive: true}},
		{"leading empty lines skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);", ContentLength: -1, KeepAlive: true}},
		{"content-length", "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n", summary{
			Method: "POST", Target: "/p", Path: "/p", Authority: "h", Minor: 1,
			Fields: "Host=h(1);Content-Length=12(2);", ContentLength: 12, KeepAlive: true}},
		{"repeated identical content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\n", summary{
			Method: "POST", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);Content-Length=3(2);content-length=3(2);", ContentLength: 3, KeepAlive: true}},
		{"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", summary{
			Method: "POST", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);Transfer-Encoding=Chunked(3);", ContentLength: -1, Chunked: true, KeepAlive: true}},
		{"connection close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);Connection=foo, Close(4);", ContentLength: -1}},
		{"HTTP/1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Minor: 0, ContentLength: -1}},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Minor: 0, Fields: "Connection=keep-alive(4);",
			ContentLength: -1, KeepAlive: true, KAOption: true}},
		{"HTTP/1.0 ignores 100-continue", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", summary{
			Method: "PUT", Target: "/", Path: "/", Minor: 0, Fields: "Expect=100-continue(10);Content-Length=1(2);",
			ContentLength: 1}},
		{"HTTP/1.9 is 1.1", "GET / HTTP/1.9\r\nHost: h\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);", ContentLength: -1, KeepAlive: true}},
		{"expect 100-continue", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n", summary{
			Method: "PUT", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);Expect=100-Continue(10);Content-Length=5(2);", ContentLength: 5, KeepAlive: true, Expect100: true}},
		{"absolute-form ignores Host", "GET HTTP://Other.example:8080/a?b HTTP/1.1\r\nHost: h\r\n\r\n", summary{
			Method: "GET", Target: "HTTP://Other.example:8080/a?b", Path: "/a?b", Authority: "Other.example:8080",
			Form: FormAbsolute, Minor: 1, Fields: "Host=h(1);", ContentLength: -1, KeepAlive: true}},
		{"absolute-form https without path", "GET https://x.example?q HTTP/1.1\r\nHost: x.example\r\n\r\n", summary{
			Method: "GET", Target: "https://x.example?q", Path: "?q", Authority: "x.example",
			Form: FormAbsolute, HTTPS: true, Minor: 1, Fields: "Host=x.example(1);", ContentLength: -1, KeepAlive: true}},
		{"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", summary{
			Method: "OPTIONS", Target: "*", Path: "*", Authority: "h", Form: FormAsterisk, Minor: 1,
			Fields: "Host=h(1);", ContentLength: -1, KeepAlive: true}},
		{"authority-form", "CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n", summary{
			Method: "CONNECT", Target: "db.example:5432", Authority: "db.example:5432", Form: FormAuthority, Minor: 1,
			Fields: "Host=db.example:5432(1);", ContentLength: -1, KeepAlive: true}},
		{"empty Host allowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Minor: 1, Fields: "Host=(1);", ContentLength: -1, KeepAlive: true}},
		{"h2c upgrade", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields:        "Host=h(1);Connection=Upgrade, HTTP2-Settings(4);Upgrade=h2c(7);HTTP2-Settings=AAMAAABkAAQAoAAAAAIAAAAA(8);",
			ContentLength: -1, KeepAlive: true, UpgradeH2C: true, Settings: "AAMAAABkAAQAoAAAAAIAAAAA"}},
		{"h2c among protocols, connection split over lines", "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nConnection: http2-settings\r\nUpgrade: websocket, H2C\r\nHTTP2-Settings: \r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields:        "Host=h(1);Connection=upgrade(4);Connection=http2-settings(4);Upgrade=websocket, H2C(7);HTTP2-Settings=(8);",
			ContentLength: -1, KeepAlive: true, UpgradeH2C: true}},
		{"no upgrade without the connection option", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields:        "Host=h(1);Connection=Upgrade(4);Upgrade=h2c(7);HTTP2-Settings=AAMAAABk(8);",
			ContentLength: -1, KeepAlive: true, Settings: "AAMAAABk"}},
		{"no upgrade with two HTTP2-Settings", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: a\r\nHTTP2-Settings: b\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields:        "Host=h(1);Connection=Upgrade, HTTP2-Settings(4);Upgrade=h2c(7);HTTP2-Settings=a(8);HTTP2-Settings=b(8);",
			ContentLength: -1, KeepAlive: true, Settings: "b"}},
		{"no upgrade over HTTP/1.0", "GET / HTTP/1.0\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Minor: 0,
			Fields:        "Connection=Upgrade, HTTP2-Settings(4);Upgrade=h2c(7);HTTP2-Settings=AAMAAABk(8);",
			ContentLength: -1, Settings: "AAMAAABk"}},
		{"obs-text and tab in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\tb\xff\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "Host=h(1);X=a\tb\xff(0);", ContentLength: -1, KeepAlive: true}},
		{"kinds", "GET / HTTP/1.1\r\nhost: h\r\nTE: trailers\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\n\r\n", summary{
			Method: "GET", Target: "/", Path: "/", Authority: "h", Minor: 1,
			Fields: "host=h(1);TE=trailers(9);Keep-Alive=5(5);Proxy-Connection=x(6);", ContentLength: -1, KeepAlive: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			in := tt.in + "NEXT"
			n, err := ParseRequest([]byte(in), &r, nil)
			if err != nil || n != len(tt.in) {
				t.Fatalf("ParseRequest = %d, %v; want %d, nil", n, err, len(tt.in))
			}
			if got := summarize(&r); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			// Every strict prefix is incomplete, never an error.
			for k := 0; k < len(tt.in); k++ {
				n, err := ParseRequest([]byte(tt.in[:k]), &r, nil)
				if n != 0 || err != nil {
					t.Fatalf("prefix %q: %d, %v; want 0, nil", tt.in[:k], n, err)
				}
			}
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		name string
		in   string
		lim  *Limits
		want *Error
	}{
		{"not HTTP", "INVALID CONNECTION PREFACE\r\n\r\n", nil, ErrNotHTTP},
		{"HTTP/0.9", "GET /\r\n\r\n", nil, ErrNotHTTP},
		{"lowercase version", "GET / http/1.1\r\n\r\n", nil, ErrNotHTTP},
		{"binary method, partial line", "\x16\x03\x01\x02", nil, ErrNotHTTP},
		{"bare LF request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", nil, ErrBareLineEnd},
		{"bare LF field line", "GET / HTTP/1.1\r\nHost: h\n\r\n", nil, ErrBareLineEnd},
		{"bare LF end of head", "GET / HTTP/1.1\r\nHost: h\r\n\n", nil, ErrBareLineEnd},
		{"bare CR in target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", nil, ErrVersion},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrRequestLine},
		{"empty target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrRequestLine},
		{"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrMethod},
		{"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrMethod},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"asterisk not OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"absolute empty host", "GET http:///a HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"absolute userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"other scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"control char in target", "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", nil, ErrTarget},
		{"request line too long", "GET /" + long, &Limits{MaxHeadBytes: 64}, ErrURITooLong},
		{"head too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + long + "\r\n\r\n", &Limits{MaxHeadBytes: 64}, ErrHeadTooLarge},
		{"head exactly one over", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", &Limits{MaxHeadBytes: 26}, ErrHeadTooLarge},
		{"too many fields", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", &Limits{MaxFields: 2}, ErrTooManyFields},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", nil, ErrObsFold},
		{"whitespace before first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", nil, ErrObsFold},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", nil, ErrFieldNameSpace},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", nil, ErrFieldNameSpace},
		{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", nil, ErrFieldName},
		{"empty name", "GET / HTTP/1.1\r\n: h\r\n\r\n", nil, ErrFieldName},
		{"bad name char", "GET / HTTP/1.1\r\nHo(st: h\r\n\r\n", nil, ErrFieldName},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", nil, ErrFieldValue},
		{"CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", nil, ErrFieldValue},
		{"missing Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", nil, ErrMissingHost},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", nil, ErrHost},
		{"two Hosts HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", nil, ErrHost},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", nil, ErrHost},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", nil, ErrHost},
		{"content-length not a number", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", nil, ErrContentLength},
		{"content-length negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", nil, ErrContentLength},
		{"content-length empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", nil, ErrContentLength},
		{"content-length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n", nil, ErrContentLength},
		{"content-length conflict", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", nil, ErrContentLength},
		{"content-length huge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999999999\r\n\r\n", nil, ErrContentLength},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", nil, ErrLengthAndChunked},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", nil, ErrLengthAndChunked},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", nil, ErrTransferEncoding},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", nil, ErrTransferEncoding},
		{"chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", nil, ErrTransferEncoding},
		{"empty TE", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", nil, ErrTransferEncoding},
		{"gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", nil, ErrUnsupportedCoding},
		{"odd expectation", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", nil, ErrExpectation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(tt.in), &r, tt.lim)
			if n != 0 || err != tt.want {
				t.Fatalf("ParseRequest = %d, %v; want 0, %v", n, err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.want.Status {
				t.Fatalf("error %v is not the *Error %v", err, tt.want)
			}
		})
	}
}

func TestParseRequestLimitBoundary(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	var r Request
	n, err := ParseRequest([]byte(in), &r, &Limits{MaxHeadBytes: len(in)})
	if n != len(in) || err != nil {
		t.Fatalf("at the limit: %d, %v", n, err)
	}
	// One byte short of a complete head at the limit is still incomplete.
	n, err = ParseRequest([]byte(in[:len(in)-1]), &r, &Limits{MaxHeadBytes: len(in)})
	if n != 0 || err != nil {
		t.Fatalf("incomplete at the limit: %d, %v", n, err)
	}
	n, err = ParseRequest([]byte("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n\r\n"), &r, &Limits{MaxFields: 2})
	if n == 0 || err != nil {
		t.Fatalf("MaxFields 2 with 2 fields: %d, %v", n, err)
	}
}

func TestParseRequestReusesFields(t *testing.T) {
	var r Request
	in := []byte("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n")
	if _, err := ParseRequest(in, &r, nil); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseRequest(in, &r, nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseRequest allocates %v times per run, want 0", allocs)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	in := []byte("GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: bench/1.0\r\n" +
		"Accept: text/plain,text/html;q=0.9,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n")
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ParseRequest(in, &r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
