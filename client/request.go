package client

import (
	"strconv"

	"golang.org/x/net/http2/hpack"
)

// Field is one request header field. Names are lower case for HTTP/2
// (RFC 9113 §8.2.1: "Field names MUST be converted to lowercase when
// constructing an HTTP/2 message"); HTTP/1.1 sends them as given.
type Field struct {
	Name, Value string
}

// Request describes one request a benchmark sends again and again. It is
// immutable once handed to NewRequestSet.
type Request struct {
	Method    string // GET when empty (POST when there is a Body)
	Scheme    string // http or https
	Authority string // host[:port], sent as :authority (HTTP/2) or Host (HTTP/1.1)
	Path      string // path and query, "/" when empty
	Header    []Field
	Body      []byte // sent as the request content; Content-Length is added
}

// RequestSet is an immutable list of prepared requests shared by every
// connection and thread: the HPACK field lists for HTTP/2 and the encoded
// request heads for HTTP/1.1 are built once here.
type RequestSet struct {
	reqs []Request
	h2   [][]hpack.HeaderField
	h1   [][]byte
}

// NewRequestSet prepares reqs. It copies the slice (not the bodies).
func NewRequestSet(reqs []Request) *RequestSet {
	s := &RequestSet{reqs: append([]Request(nil), reqs...)}
	for i := range s.reqs {
		r := &s.reqs[i]
		if r.Method == "" {
			r.Method = "GET"
			if r.Body != nil {
				r.Method = "POST"
			}
		}
		if r.Path == "" {
			r.Path = "/"
		}
		if r.Scheme == "" {
			r.Scheme = "http"
		}
		f := []hpack.HeaderField{
			{Name: ":method", Value: r.Method},
			{Name: ":scheme", Value: r.Scheme},
			{Name: ":authority", Value: r.Authority},
			{Name: ":path", Value: r.Path},
		}
		for _, h := range r.Header {
			f = append(f, hpack.HeaderField{Name: h.Name, Value: h.Value})
		}
		if r.Body != nil {
			f = append(f, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(r.Body))})
		}
		s.h2 = append(s.h2, f)
		s.h1 = append(s.h1, appendHTTP1Head(nil, r, nil))
	}
	return s
}

// appendHTTP1Head appends the HTTP/1.1 request line and header section of r,
// with extra fields (for the h2c upgrade) before the blank line.
func appendHTTP1Head(dst []byte, r *Request, extra []Field) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, r.Path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, r.Authority...)
	dst = append(dst, "\r\n"...)
	for _, h := range r.Header {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if r.Body != nil {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(r.Body)), 10)
		dst = append(dst, "\r\n"...)
	}
	for _, h := range extra {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// Len returns the number of requests.
func (s *RequestSet) Len() int { return len(s.reqs) }

// Request returns request i; the caller must not modify it.
func (s *RequestSet) Request(i int) *Request { return &s.reqs[i] }

// HTTP1Head returns the encoded HTTP/1.1 head of request i (request line and
// header section, without the body). The caller must not modify it.
func (s *RequestSet) HTTP1Head(i int) []byte { return s.h1[i] }
