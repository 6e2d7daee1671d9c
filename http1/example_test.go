package http1_test

import (
	"fmt"
	"strings"

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

// A Conn turns bytes in into requests and response calls into bytes out;
// the transport moves the bytes and runs the handlers.
func ExampleConn() {
	var c http1.Conn
	c.Init(&http1.Config{})
	in := []byte("GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\nGET /bye HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	for !c.Closed() {
		used, ev := c.Feed(in)
		if ev != http1.EventRequest {
			break
		}
		body := "you asked for " + string(c.Head().Path) + "\n"
		in = in[used:]
		c.StartResponse(200, false, false)
		c.HeaderField("Content-Type", "text/plain")
		c.EndHead(len(body), "Sun, 06 Nov 1994 08:49:37 GMT")
		c.WriteBody([]byte(body))
		c.EndResponse()
	}
	// The transport writes Output, then calls ConsumeOutput (CRLFs shown as
	// line ends here).
	fmt.Print(strings.ReplaceAll(string(c.Output()), "\r\n", "\n"))
	// Output:
	// HTTP/1.1 200 OK
	// Content-Type: text/plain
	// Date: Sun, 06 Nov 1994 08:49:37 GMT
	// Content-Length: 21
	//
	// you asked for /hello
	// HTTP/1.1 200 OK
	// Content-Type: text/plain
	// Date: Sun, 06 Nov 1994 08:49:37 GMT
	// Content-Length: 19
	// Connection: close
	//
	// you asked for /bye
}
