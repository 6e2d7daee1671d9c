package codec

import (
	"strings"
	"unsafe"

	"golang.org/x/net/http2/hpack"
)

// Header validation of RFC 9113 §8.1–§8.3 (and RFC 8441 §4 for extended
// CONNECT). HeaderDecoder calls acceptField for every field as the HPACK
// decoder emits it and checkBlock once the block is complete; the first
// violation found is reported by End as a stream error of type PROTOCOL_ERROR:
//
// RFC 9113 §8.1.1: "Malformed requests or responses that are detected MUST be
// treated as a stream error (Section 5.4.2) of type PROTOCOL_ERROR."

// BlockKind says which rules a field block is validated against.
type BlockKind uint8

// Kinds of field blocks.
const (
	BlockRequest  BlockKind = iota // request header section (RFC 9113 §8.3.1 pseudo-headers)
	BlockResponse                  // response header section (:status only, §8.3.2)
	BlockTrailers                  // trailer section: no pseudo-header fields at all (§8.1)
)

// String returns the kind's name.
func (k BlockKind) String() string {
	switch k {
	case BlockRequest:
		return "request"
	case BlockResponse:
		return "response"
	case BlockTrailers:
		return "trailers"
	}
	return "BlockKind(invalid)"
}

// Reasons carried by the *StreamError that End returns for a malformed block.
// They are constants so the checks themselves allocate nothing.
const (
	reasonNameInvalid        = "field name contains a character in 0x00-0x20, 0x41-0x5a, 0x7f-0xff or a colon"
	reasonNameEmpty          = "empty field name"
	reasonValueInvalid       = "field value contains NUL, CR or LF"
	reasonValueWhitespace    = "field value starts or ends with whitespace"
	reasonConnectionSpecific = "connection-specific header field"
	reasonTE                 = `te header field with a value other than "trailers"`
	reasonContentLength      = "content-length is not a non-negative decimal integer"
	reasonContentLengthDiff  = "content-length fields disagree"
	reasonPseudoAfterRegular = "pseudo-header field after a regular field"
	reasonPseudoInTrailers   = "pseudo-header field in trailers"
	reasonPseudoUnknown      = "unknown pseudo-header field"
	reasonPseudoWrongKind    = "pseudo-header field not defined for this message kind"
	reasonPseudoDuplicate    = "duplicated pseudo-header field"
	reasonStatusInvalid      = ":status is not a three-digit status code"
	reasonStatusMissing      = "response without :status"
	reasonMethodMissing      = "request without :method"
	reasonSchemeMissing      = "request without :scheme"
	reasonPathMissing        = "request without :path"
	reasonPathEmpty          = "empty :path"
	reasonConnectScheme      = "CONNECT request with :scheme or :path"
	reasonConnectAuthority   = "CONNECT request without :authority"
	reasonProtocolMethod     = ":protocol in a request whose :method is not CONNECT"
	reasonHostAuthority      = "host header field differs from :authority"
)

// Bits of HeaderDecoder.pseudo: which pseudo-header fields the block has had.
const (
	pseudoMethod uint8 = 1 << iota
	pseudoScheme
	pseudoAuthority
	pseudoPath
	pseudoProtocol
	pseudoStatus
)

// badNameByte marks the bytes a regular field name must not contain.
//
// RFC 9113 §8.2.1: "A field name MUST NOT contain characters in the ranges
// 0x00-0x20, 0x41-0x5a, or 0x7f-0xff (all ranges inclusive)." and "With the
// exception of pseudo-header fields (Section 8.3), which have a name that
// starts with a single colon, field names MUST NOT include a colon (ASCII
// COLON, 0x3a)."
var badNameByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || c == ':'
	}
	return t
}()

// checkName returns the reason a regular field name is invalid, or "".
func checkName(name string) string {
	if name == "" {
		return reasonNameEmpty
	}
	for i := 0; i < len(name); i++ {
		if badNameByte[name[i]] {
			return reasonNameInvalid
		}
	}
	return ""
}

// checkValue returns the reason a field value is invalid, or "".
//
// RFC 9113 §8.2.1: "A field value MUST NOT contain the zero value (ASCII NUL,
// 0x00), line feed (ASCII LF, 0x0a), or carriage return (ASCII CR, 0x0d) at
// any position." and "A field value MUST NOT start or end with an ASCII
// whitespace character (ASCII SP or HTAB, 0x20 or 0x09)."
func checkValue(v string) string {
	if v == "" {
		return ""
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return reasonValueWhitespace
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return reasonValueWhitespace
	}
	if len(v) >= 16 {
		// Long values (user-agent, cookie, paths): three vectorised
		// searches beat a byte loop.
		if strings.IndexByte(v, 0) >= 0 || strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
			return reasonValueInvalid
		}
		return ""
	}
	for i := 0; i < len(v); i++ {
		if badValueByte[v[i]] {
			return reasonValueInvalid
		}
	}
	return ""
}

// checkValue is checkValue with the decoder's cache of values found valid
// lately (see HeaderDecoder.valid).
func (d *HeaderDecoder) checkValue(v string) string {
	if len(v) < 8 || len(v) > 128 {
		return checkValue(v)
	}
	p := unsafe.StringData(v)
	for i := range d.valid {
		if unsafe.StringData(d.valid[i]) == p && len(d.valid[i]) == len(v) {
			return ""
		}
	}
	r := checkValue(v)
	if r == "" && !d.dst.InArena(v) { // an arena's bytes change with the next block
		d.valid[d.validNext%uint8(len(d.valid))] = v
		d.validNext++
	}
	return r
}

// badValueByte marks NUL, LF and CR, the bytes no field value may contain.
var badValueByte = [256]bool{0: true, '\n': true, '\r': true}

// parseContentLength parses a content-length value: RFC 9110 §8.6
// "Content-Length = 1*DIGIT", without sign, list or whitespace, fitting in an
// int64.
func parseContentLength(v string) (int64, bool) {
	if v == "" || len(v) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n < 0 { // 19 digits above 2^63-1
			return 0, false
		}
	}
	return n, true
}

// acceptField validates one field of the block being decoded and stores it in
// d.dst. It returns the reason the block is malformed, or "".
func (d *HeaderDecoder) acceptField(f hpack.HeaderField) string {
	if len(f.Name) > 0 && f.Name[0] == ':' {
		return d.acceptPseudo(f)
	}
	d.regular = true
	if r := checkName(f.Name); r != "" {
		return r
	}
	if r := d.checkValue(f.Value); r != "" {
		return r
	}
	b := d.dst
	switch f.Name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		// RFC 9113 §8.2.2: "Any message containing connection-specific header
		// fields MUST be treated as malformed (Section 8.1.1)."
		return reasonConnectionSpecific
	case "te":
		// RFC 9113 §8.2.2: "The only exception to this is the TE header field,
		// which MAY be present in an HTTP/2 request; when it is, it MUST NOT
		// contain any value other than "trailers"."
		if f.Value != "trailers" {
			return reasonTE
		}
	case "host":
		// RFC 9113 §8.3.1: "A server SHOULD treat a request as malformed if
		// it contains a Host header field that identifies an entity that
		// differs from the entity in the ":authority" pseudo-header field."
		// Pseudo-header fields come first, so :authority is known here.
		if d.kind == BlockRequest && d.pseudo&pseudoAuthority != 0 && !sameAuthority(f.Value, b.Authority, b.Scheme) {
			return reasonHostAuthority
		}
	case "content-length":
		// RFC 9110 §8.6 defines the value as 1*DIGIT. Several content-length
		// fields are accepted only when they carry the same number; differing
		// values leave the message length undefined, so the block is
		// malformed.
		n, ok := parseContentLength(f.Value)
		if !ok {
			return reasonContentLength
		}
		if b.ContentLength >= 0 && b.ContentLength != n {
			return reasonContentLengthDiff
		}
		b.ContentLength = n
	}
	b.Fields = append(b.Fields, f)
	return ""
}

// acceptPseudo validates and stores one pseudo-header field.
func (d *HeaderDecoder) acceptPseudo(f hpack.HeaderField) string {
	// RFC 9113 §8.1: "Trailers MUST NOT include pseudo-header fields
	// (Section 8.3)."
	if d.kind == BlockTrailers {
		return reasonPseudoInTrailers
	}
	// RFC 9113 §8.3: "All pseudo-header fields MUST appear in a field block
	// before all regular field lines. Any request or response that contains a
	// pseudo-header field that appears in a field block after a regular field
	// line MUST be treated as malformed (Section 8.1.1)."
	if d.regular {
		return reasonPseudoAfterRegular
	}
	b := d.dst
	var bit uint8
	var dst *string
	switch f.Name {
	case ":method":
		bit, dst = pseudoMethod, &b.Method
	case ":scheme":
		bit, dst = pseudoScheme, &b.Scheme
	case ":authority":
		bit, dst = pseudoAuthority, &b.Authority
	case ":path":
		bit, dst = pseudoPath, &b.Path
	case ":protocol": // RFC 8441 §4
		bit, dst = pseudoProtocol, &b.Protocol
	case ":status":
		bit = pseudoStatus
	default:
		// RFC 9113 §8.3: "Endpoints MUST treat a request or response that
		// contains undefined or invalid pseudo-header fields as malformed
		// (Section 8.1.1)."
		return reasonPseudoUnknown
	}
	// RFC 9113 §8.3: "Pseudo-header fields defined for requests MUST NOT
	// appear in responses; pseudo-header fields defined for responses MUST
	// NOT appear in requests."
	if (bit == pseudoStatus) != (d.kind == BlockResponse) {
		return reasonPseudoWrongKind
	}
	// RFC 9113 §8.3: "The same pseudo-header field name MUST NOT appear more
	// than once in a field block. A field block for an HTTP request or
	// response that contains a repeated pseudo-header field name MUST be
	// treated as malformed (Section 8.1.1)."
	if d.pseudo&bit != 0 {
		return reasonPseudoDuplicate
	}
	d.pseudo |= bit
	if r := d.checkValue(f.Value); r != "" {
		return r
	}
	if bit == pseudoStatus {
		s := f.Value
		if len(s) != 3 || s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' {
			return reasonStatusInvalid
		}
		b.Status = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
		return ""
	}
	*dst = f.Value
	return ""
}

// checkBlock applies the rules that need the whole block: which pseudo-header
// fields must be present.
func (d *HeaderDecoder) checkBlock() string {
	b := d.dst
	switch d.kind {
	case BlockResponse:
		// RFC 9113 §8.3.2: "This pseudo-header field MUST be included in all
		// responses, including interim responses; otherwise, the response is
		// malformed (Section 8.1.1)."
		if d.pseudo&pseudoStatus == 0 {
			return reasonStatusMissing
		}
	case BlockRequest:
		if d.pseudo&pseudoMethod == 0 || b.Method == "" {
			return reasonMethodMissing
		}
		if d.pseudo&pseudoProtocol != 0 {
			// RFC 8441 §4: "A new pseudo-header field :protocol MAY be
			// included on request HEADERS indicating the desired protocol to
			// be spoken on the tunnel created by CONNECT." and "On requests
			// that contain the :protocol pseudo-header field, the :scheme and
			// :path pseudo-header fields of the target URI (see Section 5)
			// MUST also be included."
			if b.Method != "CONNECT" {
				return reasonProtocolMethod
			}
			if r := checkSchemePath(d.pseudo, b); r != "" {
				return r
			}
			if b.Authority == "" {
				return reasonConnectAuthority
			}
			return ""
		}
		if b.Method == "CONNECT" {
			// RFC 9113 §8.5: "The ":scheme" and ":path" pseudo-header fields
			// MUST be omitted." and "The ":authority" pseudo-header field
			// contains the host and port to connect to"; "A CONNECT request
			// that does not conform to these restrictions is malformed
			// (Section 8.1.1)."
			if d.pseudo&(pseudoScheme|pseudoPath) != 0 {
				return reasonConnectScheme
			}
			if b.Authority == "" {
				return reasonConnectAuthority
			}
			return ""
		}
		// RFC 9113 §8.3.1: "All HTTP/2 requests MUST include exactly one
		// valid value for the ":method", ":scheme", and ":path" pseudo-header
		// fields, unless they are CONNECT requests (Section 8.5). An HTTP
		// request that omits mandatory pseudo-header fields is malformed
		// (Section 8.1.1)."
		return checkSchemePath(d.pseudo, b)
	}
	return ""
}

// checkSchemePath checks that :scheme and :path are present and :path is not
// empty.
func checkSchemePath(pseudo uint8, b *HeaderBlock) string {
	if pseudo&pseudoScheme == 0 || b.Scheme == "" {
		return reasonSchemeMissing
	}
	if pseudo&pseudoPath == 0 {
		return reasonPathMissing
	}
	// RFC 9113 §8.3.1 (":path"): "This pseudo-header field MUST NOT be empty
	// for "http" or "https" URIs". We reject an empty :path for every scheme.
	if b.Path == "" {
		return reasonPathEmpty
	}
	return ""
}

// ValidResponseField reports whether a regular field a handler wants to send
// may go out: "A field name MUST NOT contain characters in the ranges
// 0x00-0x20, 0x41-0x5a, or 0x7f-0xff" and the value rules of RFC 9113
// §8.2.1 (no NUL, CR or LF; no leading or trailing SP or HTAB), and the name
// is not connection-specific: "An endpoint MUST NOT generate an HTTP/2
// message containing connection-specific header fields" (§8.2.2).
func ValidResponseField(name, value string) bool {
	return checkName(name) == "" && checkValue(value) == "" && !connectionSpecific(name)
}

// ValidResponseFieldBytes is ValidResponseField for a value held in bytes.
func ValidResponseFieldBytes(name string, value []byte) bool {
	if checkName(name) != "" || connectionSpecific(name) {
		return false
	}
	if n := len(value); n > 0 {
		if c := value[0]; c == ' ' || c == '\t' {
			return false
		}
		if c := value[n-1]; c == ' ' || c == '\t' {
			return false
		}
	}
	for _, c := range value {
		if badValueByte[c] {
			return false
		}
	}
	return true
}

func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// sameAuthority reports whether host and authority name the same entity:
// equal ignoring case (host names are case-insensitive), or equal once the
// default port of scheme is taken off either.
func sameAuthority(host, authority, scheme string) bool {
	if strings.EqualFold(host, authority) {
		return true
	}
	port := ""
	switch scheme {
	case "http":
		port = ":80"
	case "https":
		port = ":443"
	default:
		return false
	}
	return strings.EqualFold(strings.TrimSuffix(host, port), strings.TrimSuffix(authority, port))
}
