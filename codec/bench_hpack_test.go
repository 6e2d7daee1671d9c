package codec

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// BenchmarkHeaderDecoderIndexedRequest decodes a request block whose nine
// fields are all indexed (the repeat of an earlier request), in two
// fragments, validation included.
func BenchmarkHeaderDecoderIndexedRequest(b *testing.B) {
	warm, indexed := indexedRequest()
	d := NewHeaderDecoder(4096, 1<<16)
	blk := new(HeaderBlock)
	d.Begin(1, BlockRequest, blk)
	if err := d.Write(warm); err != nil {
		b.Fatal(err)
	}
	if err := d.End(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(indexed)))
	b.ReportAllocs()
	for b.Loop() {
		d.Begin(3, BlockRequest, blk)
		if err := d.Write(indexed[:5]); err != nil {
			b.Fatal(err)
		}
		if err := d.Write(indexed[5:]); err != nil {
			b.Fatal(err)
		}
		if err := d.End(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHeaderEncoderSmallResponse encodes :status 200, content-type
// (indexed after the first block), content-length and a date.
func BenchmarkHeaderEncoderSmallResponse(b *testing.B) {
	e := NewHeaderEncoder()
	date := []byte("Mon, 21 Oct 2013 20:13:21 GMT")
	encodeSmallResponse(e, date, 1)
	n := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		n++
		encodeSmallResponse(e, date, n&0xffff)
	}
	b.SetBytes(int64(len(e.Bytes())))
}

// BenchmarkHeaderEncoderStatusLiteral encodes statuses outside the static
// table (Huffman-coded or raw digits).
func BenchmarkHeaderEncoderStatusLiteral(b *testing.B) {
	e := NewHeaderEncoder()
	codes := [...]int{201, 302, 418, 503}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		e.WriteStatus(codes[i&3])
		i++
	}
}

// BenchmarkHeaderDecoderLiteralRequest decodes the first request of a
// connection (every field a literal, most Huffman-coded, each added to the
// dynamic table) in two fragments, validation included: the cost of the
// literals, and of the scanner skipping their strings.
func BenchmarkHeaderDecoderLiteralRequest(b *testing.B) {
	warm, _ := indexedRequest()
	d := NewHeaderDecoder(4096, 1<<16)
	blk := new(HeaderBlock)
	b.SetBytes(int64(len(warm)))
	b.ReportAllocs()
	for b.Loop() {
		d.Begin(1, BlockRequest, blk)
		if err := d.Write(warm[:20]); err != nil {
			b.Fatal(err)
		}
		if err := d.Write(warm[20:]); err != nil {
			b.Fatal(err)
		}
		if err := d.End(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFieldIndexed writes a field already in the dynamic table
// (content-type on every response after the first): HeaderEncoder scans its
// ring; x/net's Encoder, beside it for comparison, looks it up in maps.
func BenchmarkWriteFieldIndexed(b *testing.B) {
	b.Run("h2loop", func(b *testing.B) {
		e := NewHeaderEncoder()
		e.WriteField("server", "h2loop")
		e.WriteField("content-type", "text/plain; charset=utf-8")
		b.ReportAllocs()
		for b.Loop() {
			e.Reset()
			e.WriteField("content-type", "text/plain; charset=utf-8")
			e.WriteField("server", "h2loop")
		}
	})
	b.Run("x-net-hpack", func(b *testing.B) {
		var buf bytes.Buffer
		e := hpack.NewEncoder(&buf)
		e.WriteField(hpack.HeaderField{Name: "server", Value: "h2loop"})
		e.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain; charset=utf-8"})
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			e.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain; charset=utf-8"})
			e.WriteField(hpack.HeaderField{Name: "server", Value: "h2loop"})
		}
	})
}

// BenchmarkEncoderFirstResponse is what a connection's encoder costs in
// memory once it has sent one typical response (B/op): the state each
// connection keeps. x/net's Encoder, beside it, builds its lookup maps.
func BenchmarkEncoderFirstResponse(b *testing.B) {
	b.Run("h2loop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e := NewHeaderEncoder()
			e.Reset()
			e.WriteStatus(200)
			e.WriteField("content-type", "text/plain; charset=utf-8")
		}
	})
	b.Run("x-net-hpack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var buf bytes.Buffer
			e := hpack.NewEncoder(&buf)
			e.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			e.WriteField(hpack.HeaderField{Name: "content-type", Value: "text/plain; charset=utf-8"})
		}
	})
}

// BenchmarkHeaderEncoderAgedTable encodes the response fields a server
// sends after running for a minute: the dynamic table holds one Date entry
// per second gone by (up to what 4096 bytes hold) ahead of the
// content-type and server entries, and the fields come from the same
// strings every time (constants, the cached Date).
func BenchmarkHeaderEncoderAgedTable(b *testing.B) {
	e := NewHeaderEncoder()
	e.Reset()
	e.WriteField("content-type", "application/json")
	e.WriteField("server", "h2loop")
	dates := make([]string, 60)
	for i := range dates {
		dates[i] = "Mon, 21 Oct 2013 20:" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + ":21 GMT"
		e.Reset()
		e.WriteField("date", dates[i])
	}
	date := dates[len(dates)-1]
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		e.WriteStatus(200)
		e.WriteField("content-type", "application/json")
		e.WriteContentLength(13)
		e.WriteField("date", date)
		e.WriteField("server", "h2loop")
	}
}
