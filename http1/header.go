package http1

import (
	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// FillHeader converts the head of the current request (Head) into hb, the
// header section both protocols hand to handlers. Strings come from in: no
// allocation when they repeat. The Host field becomes the authority and
// the framing fields are dropped (the body is whole by the time a handler
// runs); a request that becomes HTTP/2 stream 1 (Upgrading) also loses the
// connection-specific fields ("An endpoint MUST NOT generate an HTTP/2
// message containing connection-specific header fields", RFC 9113 §8.2.2).
func (c *Conn) FillHeader(hb *codec.HeaderBlock, in *Interner, scheme string) {
	hd, toH2 := &c.head, c.upgrade != nil
	hb.Method = in.String(hd.Method)
	hb.Scheme = scheme
	hb.Authority = in.String(hd.Authority)
	hb.ContentLength = hd.ContentLength
	switch hd.Form {
	case FormAuthority:
		// CONNECT: neither :scheme nor :path (RFC 9113 §8.5).
		hb.Scheme, hb.Path = "", ""
	case FormAbsolute:
		// The scheme stays the connection's: a cleartext request that
		// names https is still cleartext.
		p := hd.Path
		if len(p) == 0 && string(hd.Method) == "OPTIONS" {
			hb.Path = "*"
		} else if len(p) == 0 || p[0] != '/' {
			c.scratch = append(append(c.scratch[:0], '/'), p...)
			hb.Path = in.String(c.scratch)
		} else {
			hb.Path = in.String(p)
		}
	default:
		hb.Path = in.String(hd.Path)
	}
	for i := range hd.Fields {
		f := &hd.Fields[i]
		switch {
		case f.Kind == KindHost || f.Kind == KindTransferEncoding:
			continue
		case toH2 && f.Kind.Hop() && f.Kind != KindContentLength:
			continue
		case toH2 && f.Kind == KindTE && string(f.Value) != "trailers":
			// "The only exception to this is the TE header field, which MAY
			// be present in an HTTP/2 request; when it is, it MUST NOT
			// contain any value other than "trailers"" (RFC 9113 §8.2.2).
			continue
		}
		hb.Fields = append(hb.Fields, hpack.HeaderField{Name: in.Lower(f.Name), Value: in.String(f.Value)})
		hb.Size += uint32(len(f.Name) + len(f.Value) + 32)
	}
	// The header list size as HTTP/2 counts it (RFC 9113 §6.5.2), with
	// the pseudo-header fields.
	pseudo := [...]struct {
		name, value string
	}{{":method", hb.Method}, {":scheme", hb.Scheme}, {":authority", hb.Authority}, {":path", hb.Path}}
	for _, p := range pseudo {
		if p.value != "" {
			hb.Size += uint32(len(p.name) + len(p.value) + 32)
		}
	}
}

// FillTrailer stores the trailer fields of the current request's chunked
// body in *tb (made when there is one to store), except those that may not
// be trailers: framing, routing and the connection (RFC 9110 §6.5.1).
func (c *Conn) FillTrailer(tb **codec.HeaderBlock, in *Interner) {
	for _, f := range c.Trailers() {
		if f.Kind != KindOther && f.Kind != KindTE {
			continue
		}
		if *tb == nil {
			*tb = new(codec.HeaderBlock)
		}
		(*tb).Fields = append((*tb).Fields, hpack.HeaderField{Name: in.Lower(f.Name), Value: in.String(f.Value)})
	}
}
