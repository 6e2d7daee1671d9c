package http1_test

import (
	"fmt"

	"github.com/h2loop/h2loop/http1"
)

func ExampleParseRequest() {
	buf := []byte("POST /upload?id=7 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello")
	var req http1.Request
	n, err := http1.ParseRequest(buf, &req, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s HTTP/1.%d host=%s length=%d 100-continue=%v keep-alive=%v\n",
		req.Method, req.Path, req.Minor, req.Authority, req.ContentLength, req.Expect100, req.KeepAlive)
	fmt.Printf("body %q\n", buf[n:n+int(req.ContentLength)])

	// An incomplete head is not an error: n is 0 until the head is whole.
	n, err = http1.ParseRequest(buf[:20], &req, nil)
	fmt.Println(n, err)
	// Output:
	// POST /upload?id=7 HTTP/1.1 host=example.com length=5 100-continue=true keep-alive=true
	// body "hello"
	// 0 <nil>
}

func ExampleChunkedDecoder() {
	var d http1.ChunkedDecoder
	in := []byte("5\r\nhello\r\n6\r\n world\r\n0\r\nChecksum: 42\r\n\r\n")
	n, body, done, err := d.Decode(in, nil, 1<<20, nil)
	fmt.Println(n == len(in), string(body), done, err)
	fmt.Printf("%s: %s\n", d.Trailers[0].Name, d.Trailers[0].Value)
	// Output:
	// true hello world true <nil>
	// Checksum: 42
}

func ExampleAppendField() {
	out := http1.AppendStatusLine(nil, 404)
	out = http1.AppendField(out, "content-type", "text/plain")
	out = http1.AppendField(out, "x-note", "no\r\nsplitting")
	out = http1.AppendContentLength(out, 0)
	out = append(out, "\r\n"...)
	fmt.Printf("%q\n", out)
	// Output:
	// "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nX-Note: no  splitting\r\nContent-Length: 0\r\n\r\n"
}
