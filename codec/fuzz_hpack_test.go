package codec

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// fuzzTableSizes are the SETTINGS_HEADER_TABLE_SIZE values FuzzHeaderDecoder
// advertises, picked by ctl.
var fuzzTableSizes = [4]uint32{4096, 0, 256, 65536}

// FuzzHeaderDecoder feeds arbitrary bytes, split into fragments, to a
// HeaderDecoder twice (two consecutive blocks, so the dynamic table carries
// over) and compares every outcome with a plain hpack.Decoder fed the same
// bytes plus an independent validator. ctl picks the fragment length (bits
// 0-3), the block kind (4-5), the table size (6-7), the header list limit
// (8-23) and whether the first block is decoded with a nil dst, only to keep
// the table in sync (24).
func FuzzHeaderDecoder(f *testing.F) {
	seeds := [][]byte{
		hpackHex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
		hpackHex("040c 2f73 616d 706c 652f 7061 7468"),
		hpackHex("1008 7061 7373 776f 7264 0673 6563 7265 74"),
		{0x82},
		{0x20, 0x3f, 0xe1, 0x1f, 0x82, 0x87, 0x84},
		{0x3f, 0x13, 0x82},
		{0x40, 1, 'a', 1, 'b', 0x20},
		{0x82, 0x20},                                     // size update after a field, empty table
		{0x82, 0x0f, 0x04, 0x84, 0xff, 0xff, 0xff, 0xff}, // EOS in a literal without indexing
		{0x82, 0x10, 0x81, 0x18, 0x00},                   // padding not all ones in a never-indexed name
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	}
	for _, ex := range rfcRequests {
		seeds = append(seeds, hpackHex(ex.plain), hpackHex(ex.huffman))
	}
	for _, ex := range rfcResponses {
		seeds = append(seeds, hpackHex(ex.plain), hpackHex(ex.huffman))
	}
	warm, indexed := indexedRequest()
	seeds = append(seeds, warm, indexed)
	e := NewHeaderEncoder()
	e.SetPeerMaxDynamicTableSize(100)
	encodeSmallResponse(e, []byte("Mon, 21 Oct 2013 20:13:21 GMT"), 1234)
	e.WriteSensitive("set-cookie", "a=b")
	e.WriteStatus(418)
	seeds = append(seeds, bytes.Clone(e.Bytes()))
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	seeds = append(seeds, peerBlock(enc, &buf, hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"),
		hf(":path", "/chat"), hf(":authority", "example.com"), hf("Upper", "x"), hf("te", "gzip"), hf("content-length", "12")))
	for i, s := range seeds {
		f.Add(s, uint32(i%16)|uint32(i%3)<<4|uint32(i%4)<<6|uint32(1<<16-1)<<8)
		f.Add(s, uint32(i%16)|uint32(i%3)<<4|uint32(100+i)<<8)
		f.Add(s, uint32(i%16)|uint32(i%4)<<6|uint32(1<<16-1)<<8|1<<24)
		f.Add(s, uint32(i%16)|uint32(i%3)<<4|uint32(1<<16-1)<<8|1<<25)
	}

	f.Fuzz(func(t *testing.T, block []byte, ctl uint32) {
		fragLen := int(ctl&15) + 1
		kind := BlockKind(ctl >> 4 & 3 % 3)
		tableSize := fuzzTableSizes[ctl>>6&3]
		limit := ctl >> 8 & 0xffff
		discard := ctl>>24&1 != 0

		d := NewHeaderDecoder(tableSize, limit)
		var refFields []hpack.HeaderField
		ref := hpack.NewDecoder(tableSize, func(f hpack.HeaderField) { refFields = append(refFields, f) })
		ref.SetMaxStringLength(maxStringLen(limit))
		refAlive, oursDead := true, false

		b := new(HeaderBlock)
		if ctl>>25&1 != 0 {
			// literals without indexing into an arena; one that does not
			// fit what is left of 64 bytes is allocated
			b.SetArena(make([]byte, 0, 64))
		}
		for round := 0; round < 2; round++ {
			id := uint32(2*round + 1)
			dst := b
			if discard && round == 0 {
				dst = nil
			}
			d.Begin(id, kind, dst)
			var err error
			for rest := block; len(rest) > 0 && err == nil; {
				n := min(fragLen, len(rest))
				err = d.Write(rest[:n])
				rest = rest[n:]
			}
			if err == nil {
				err = d.End()
			}

			// Memory: nothing past the limit is stored, whatever the outcome.
			stored := uint64(0)
			for _, f := range b.Fields {
				stored += uint64(f.Size())
			}
			for _, v := range []string{b.Method, b.Scheme, b.Authority, b.Path, b.Protocol} {
				stored += uint64(len(v))
			}
			if stored > uint64(limit) {
				t.Fatalf("round %d: %d bytes stored, limit %d", round, stored, limit)
			}

			var ce *ConnError
			connErr := errors.As(err, &ce)
			if connErr && ce.Code != ErrCodeCompression {
				t.Fatalf("round %d: connection error with code %v", round, ce.Code)
			}
			if oursDead {
				if !connErr {
					t.Fatalf("round %d: err = %v after a connection error", round, err)
				}
				return
			}
			oursDead = connErr
			if !refAlive {
				return // nothing left to compare with
			}
			refFields = refFields[:0]
			refErr := refDecode(ref, block, fragLen, tableSize)
			refAlive = refErr == nil
			stringsSkipped := err == ErrHeaderListTooLarge || (dst == nil && err == nil)
			switch {
			case connErr && refErr == nil:
				t.Fatalf("round %d: %v, but the reference decodes %q", round, err, refFields)
			case connErr:
				continue
			case refErr != nil && !(stringsSkipped && errors.Is(refErr, hpack.ErrStringLength)):
				// Only a block over the limit or discarded may skip what
				// made the reference fail: a Huffman string too long once
				// decoded (literal strings are not decoded then). An invalid
				// Huffman string is found either way (RFC 7541 §5.2).
				t.Fatalf("round %d: err = %v, reference fails with %v", round, err, refErr)
			case refErr != nil:
				continue
			case dst == nil:
				if err != nil {
					t.Fatalf("round %d: discarded block: %v", round, err)
				}
				continue
			}

			size := uint64(0)
			for _, f := range refFields {
				size += uint64(f.Size())
			}
			if (size > uint64(limit)) != (err == ErrHeaderListTooLarge) {
				t.Fatalf("round %d: list size %d, limit %d, err = %v", round, size, limit, err)
			}
			if err == ErrHeaderListTooLarge {
				continue
			}
			if uint64(b.Size) != size {
				t.Fatalf("round %d: Size = %d, want %d", round, b.Size, size)
			}
			malformed := refMalformed(kind, refFields)
			var se *StreamError
			if isSE := errors.As(err, &se); isSE != malformed || (err != nil && !isSE) {
				t.Fatalf("round %d: err = %v, reference malformed = %v, fields %q", round, err, malformed, refFields)
			}
			if se != nil {
				if se.StreamID != id || se.Code != ErrCodeProtocol {
					t.Fatalf("round %d: %v", round, se)
				}
				continue
			}
			want := HeaderBlock{ContentLength: -1, Size: uint32(size)}
			for _, f := range refFields {
				switch f.Name {
				case ":method":
					want.Method = f.Value
				case ":scheme":
					want.Scheme = f.Value
				case ":authority":
					want.Authority = f.Value
				case ":path":
					want.Path = f.Value
				case ":protocol":
					want.Protocol = f.Value
				case ":status":
					want.Status, _ = strconv.Atoi(f.Value)
				case "content-length":
					want.ContentLength, _ = strconv.ParseInt(f.Value, 10, 64)
					fallthrough
				default:
					want.Fields = append(want.Fields, f)
				}
			}
			if !sameBlock(*b, want) {
				t.Fatalf("round %d: block = %+v\nwant            %+v", round, *b, want)
			}
		}
	})
}

// sameBlock compares blocks, an empty Fields equal to a nil one.
func sameBlock(a, b HeaderBlock) bool {
	if len(a.Fields) == 0 && len(b.Fields) == 0 {
		a.Fields, b.Fields = nil, nil
	}
	a.arena, b.arena = nil, nil // where the strings are is not what they say
	return reflect.DeepEqual(a, b)
}

// refDecode decodes block with a plain hpack.Decoder, fed the same fragments
// as the HeaderDecoder. Leading dynamic table size updates go one per Write
// and Close, since hpack.Decoder refuses a second one in a row when its table
// is not empty; at most two, each at most six octets and within tableLimit.
// An update after a field is an error even when hpack.Decoder accepts it
// (its table is empty).
func refDecode(ref *hpack.Decoder, block []byte, fragLen int, tableLimit uint32) error {
	if refUpdateAfterField(block) {
		return errors.New("dynamic table size update after a field")
	}
	pos, updates := 0, 0
	for pos < len(block) && block[pos]&0xe0 == 0x20 {
		end := pos + 1
		if block[pos]&0x1f == 0x1f {
			for end < len(block) && block[end]&0x80 != 0 {
				end++
			}
			if end == len(block) {
				return errors.New("truncated size update")
			}
			end++
		}
		if end-pos > maxUpdateLen {
			return errors.New("size update too long")
		}
		if updates++; updates > 2 {
			return errors.New("three size updates")
		}
		ref.SetAllowedMaxDynamicTableSize(tableLimit)
		if _, err := ref.Write(block[pos:end]); err != nil {
			return err
		}
		if err := ref.Close(); err != nil {
			return err
		}
		pos = end
	}
	for pos < len(block) {
		next := (pos/fragLen + 1) * fragLen // same fragment boundaries
		end := min(next, len(block))
		if _, err := ref.Write(block[pos:end]); err != nil {
			return err
		}
		pos = end
	}
	return ref.Close()
}

// refUpdateAfterField reports whether block, read whole, has a dynamic table
// size update after a field representation. It stops, answering false, where
// the block cannot be read (hpack.Decoder then fails anyway).
func refUpdateAfterField(block []byte) bool {
	p := block
	// integer reads an integer with an n-bit prefix off p.
	integer := func(n uint) (uint64, bool) {
		if len(p) == 0 {
			return 0, false
		}
		v := uint64(p[0]) & (1<<n - 1)
		p = p[1:]
		if v < 1<<n-1 {
			return v, true
		}
		for shift := uint(0); len(p) > 0 && shift < 63; shift += 7 {
			c := p[0]
			p = p[1:]
			v += uint64(c&0x7f) << shift
			if c < 0x80 {
				return v, true
			}
		}
		return 0, false
	}
	str := func() bool {
		n, ok := integer(7)
		if !ok || n > uint64(len(p)) {
			return false
		}
		p = p[n:]
		return true
	}
	sawField := false
	for len(p) > 0 {
		c := p[0]
		var prefix uint
		switch {
		case c >= 0x80:
			sawField = true
			if _, ok := integer(7); !ok {
				return false
			}
			continue
		case c >= 0x40:
			prefix = 6
		case c >= 0x20:
			if sawField {
				return true
			}
			if _, ok := integer(5); !ok {
				return false
			}
			continue
		default:
			prefix = 4
		}
		sawField = true
		name, ok := integer(prefix)
		if !ok || (name == 0 && !str()) || !str() {
			return false
		}
	}
	return false
}

// refMalformed is an independent statement of the RFC 9113 §8 rules that
// HeaderDecoder enforces.
func refMalformed(kind BlockKind, fields []hpack.HeaderField) bool {
	pseudo := map[string]string{}
	sawRegular := false
	contentLength := ""
	for _, f := range fields {
		v := f.Value
		if strings.ContainsAny(v, "\x00\r\n") || strings.Trim(v, " \t") != v {
			return true
		}
		if strings.HasPrefix(f.Name, ":") {
			if sawRegular || kind == BlockTrailers {
				return true
			}
			if _, dup := pseudo[f.Name]; dup {
				return true
			}
			valid := map[BlockKind]string{BlockRequest: " :method :scheme :authority :path :protocol ", BlockResponse: " :status "}[kind]
			if !strings.Contains(valid, " "+f.Name+" ") {
				return true
			}
			pseudo[f.Name] = v
			continue
		}
		sawRegular = true
		if f.Name == "" {
			return true
		}
		for _, c := range []byte(f.Name) {
			if c < '!' || c > '~' || c == ':' || ('A' <= c && c <= 'Z') {
				return true
			}
		}
		switch f.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return true
		case "te":
			if v != "trailers" {
				return true
			}
		case "content-length":
			if v == "" || strings.Trim(v, "0123456789") != "" {
				return true
			}
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil || len(v) > 19 {
				return true
			}
			if contentLength != "" {
				if m, _ := strconv.ParseUint(contentLength, 10, 63); m != n {
					return true
				}
			}
			contentLength = v
		}
	}
	has := func(name string) bool { _, ok := pseudo[name]; return ok }
	switch kind {
	case BlockResponse:
		s := pseudo[":status"]
		return !has(":status") || len(s) != 3 || strings.Trim(s, "0123456789") != "" || s[0] == '0'
	case BlockRequest:
		switch {
		case pseudo[":method"] == "":
			return true
		case has(":protocol"):
			return pseudo[":method"] != "CONNECT" || pseudo[":scheme"] == "" || pseudo[":path"] == "" || pseudo[":authority"] == ""
		case pseudo[":method"] == "CONNECT":
			return has(":scheme") || has(":path") || pseudo[":authority"] == ""
		default:
			return pseudo[":scheme"] == "" || pseudo[":path"] == ""
		}
	}
	return false
}

// FuzzHeaderRoundTrip drives a HeaderEncoder with a program read from the
// input (fields of every kind, statuses, content lengths, table size
// changes) and checks that a HeaderDecoder acting as the peer gets back
// exactly what was written, block after block.
func FuzzHeaderRoundTrip(f *testing.F) {
	f.Add([]byte("\x00\x05name1\x06value1\x01\x04date\x1dMon, 21 Oct 2013 20:13:21 GMT\x04\x03\x00\x00\x00\x05"))
	f.Add([]byte("\x05\x00\x00\x04\xc8\x00\x03abc\x03def\x04\x93\x00\x03abc\x03def\x05\xff\x0f\x04\x00"))
	f.Add([]byte("\x02\x06cookie\x05a=b;c\x03\x10\x27\x00\x00\x04\x01\x05\x10\x00\x00\x08content\x04type\x04\x2c\x01"))
	f.Add(bytes.Repeat([]byte("\x00\x0aabcdefghij\x20abcdefghijabcdefghijabcdefghijab\x04\xc8"), 40))

	f.Fuzz(func(t *testing.T, prog []byte) {
		e := NewHeaderEncoder()
		d := NewHeaderDecoder(4096, 1<<20)
		next := func() byte {
			if len(prog) == 0 {
				return 0
			}
			c := prog[0]
			prog = prog[1:]
			return c
		}
		str := func(alphabet func(byte) byte, maxLen int) []byte {
			n := int(next()) % (maxLen + 1)
			s := make([]byte, n)
			for i := range s {
				s[i] = alphabet(next())
			}
			return s
		}
		// Names: lowercase letters, digits and '-', prefixed "x" so none is
		// special. Values: visible ASCII and obs-text, no leading or trailing
		// whitespace.
		name := func() string {
			return "x" + string(str(func(c byte) byte { return "abcdefghijklmnopqrstuvwxyz0123456789-"[int(c)%37] }, 12))
		}
		value := func() []byte {
			return str(func(c byte) byte {
				if c <= ' ' || c == 0x7f {
					return 'a' + c%26
				}
				return c
			}, 40)
		}

		var want HeaderBlock
		begin := func(status int) {
			e.Reset()
			e.WriteStatus(status)
			want = HeaderBlock{Status: status, ContentLength: -1}
			if status < 100 || status > 999 {
				want.Status = 500
			}
			want.Size = listSize(hf(":status", strconv.Itoa(want.Status)))
		}
		add := func(f hpack.HeaderField) {
			want.Fields = append(want.Fields, f)
			want.Size += f.Size()
		}
		var pendingSize []uint32
		check := func() {
			got, err := decodeHPACKBlock(d, 1, BlockResponse, e.Bytes(), int(want.Size%7))
			if err != nil {
				t.Fatalf("decode %x: %v", e.Bytes(), err)
			}
			if !sameBlock(*got, want) {
				t.Fatalf("block %x\ndecoded %+v\nwant    %+v", e.Bytes(), *got, want)
			}
			// SETTINGS_HEADER_TABLE_SIZE changes take effect between blocks:
			// our decoder at the acknowledgement, the encoder at its next block.
			for _, n := range pendingSize {
				d.SetMaxDynamicTableSize(n)
				e.SetPeerMaxDynamicTableSize(n)
			}
			pendingSize = pendingSize[:0]
		}

		// written are fields written before, whose very strings case 7
		// writes again (the encoder's memo finds fields by their address).
		var written []hpack.HeaderField
		begin(200)
		for steps := 0; len(prog) > 0 && steps < 2000; steps++ {
			switch next() % 8 {
			case 0:
				n, v := name(), string(value())
				e.WriteField(n, v)
				add(hf(n, v))
				if len(written) < 8 {
					written = append(written, hf(n, v))
				} else {
					written[int(next())%len(written)] = hf(n, v)
				}
			case 1:
				n, v := name(), value()
				e.WriteFieldNoIndex(n, v)
				add(hf(n, string(v)))
			case 2:
				n, v := name(), string(value())
				e.WriteSensitive(n, v)
				add(hpack.HeaderField{Name: n, Value: v, Sensitive: true})
			case 3:
				if want.ContentLength < 0 {
					n := int64(next())<<24 | int64(next())<<16 | int64(next())<<8 | int64(next())
					n <<= next() % 32
					e.WriteContentLength(n)
					want.ContentLength = n
					add(hf("content-length", strconv.FormatInt(n, 10)))
				}
			case 4:
				check()
				begin(int(next())<<8 | int(next()))
			case 5:
				pendingSize = append(pendingSize, []uint32{0, 32, 64, 100, 256, 4096, 8192, 1 << 20}[next()%8])
			case 6:
				// A static-table name with a literal value.
				n := staticTable[int(next())%len(staticTable)].name
				if n[0] == ':' || n == "content-length" || n == "transfer-encoding" {
					continue
				}
				v := string(value())
				e.WriteField(n, v)
				add(hf(n, v))
			case 7:
				if len(written) > 0 {
					f := written[int(next())%len(written)]
					e.WriteField(f.Name, f.Value)
					add(f)
				}
			}
		}
		check()
	})
}
