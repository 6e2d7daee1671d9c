package http1

import "bytes"

// Kind names the header fields that the parser interprets.
type Kind uint8

// Field kinds. KindOther is every field the parser does not look at.
const (
	KindOther Kind = iota
	KindHost
	KindContentLength
	KindTransferEncoding
	KindConnection
	KindKeepAlive
	KindProxyConnection
	KindUpgrade
	KindHTTP2Settings
	KindTE
	KindExpect
)

// Hop reports whether fields of kind k describe the connection or the
// message framing rather than the request (RFC 9110 §7.6.1, RFC 9112 §6):
// a server that turns the request into an HTTP/2 one drops them.
func (k Kind) Hop() bool {
	switch k {
	case KindContentLength, KindTransferEncoding, KindConnection, KindKeepAlive,
		KindProxyConnection, KindUpgrade, KindHTTP2Settings:
		return true
	}
	return false
}

// Field is one header field line. Name keeps the case it was sent in;
// Value has no leading or trailing whitespace. Both borrow from the buffer
// given to the parser.
type Field struct {
	Name  []byte
	Value []byte
	Kind  Kind
}

// Form is the form of a request-target (RFC 9112 §3.2).
type Form uint8

// Request-target forms.
const (
	FormOrigin    Form = iota // "/path?query"
	FormAbsolute              // "http://host/path?query"
	FormAuthority             // "host:port", CONNECT only
	FormAsterisk              // "*", OPTIONS only
)

// Limits bound what the parser accepts. Zero fields take the defaults.
type Limits struct {
	// MaxHeadBytes bounds the request head: leading empty lines, request
	// line, field lines and the final CRLF (default 64 KiB). A request line
	// longer than this gets ErrURITooLong, a longer head ErrHeadTooLarge.
	// It also bounds a chunked body's trailer section.
	MaxHeadBytes int
	// MaxFields bounds the number of field lines (default 256).
	MaxFields int
}

// DefaultMaxHeadBytes and DefaultMaxFields are the defaults of Limits.
const (
	DefaultMaxHeadBytes = 64 << 10
	DefaultMaxFields    = 256
)

func (l *Limits) head() int {
	if l == nil || l.MaxHeadBytes <= 0 {
		return DefaultMaxHeadBytes
	}
	return l.MaxHeadBytes
}

func (l *Limits) fields() int {
	if l == nil || l.MaxFields <= 0 {
		return DefaultMaxFields
	}
	return l.MaxFields
}

// Request is a parsed request head. Every slice borrows from the buffer
// given to ParseRequest and is valid only while that buffer is unchanged.
// A Request is reused by passing it to ParseRequest again: it keeps the
// capacity of Fields.
type Request struct {
	// Method is the request method, a token (case-sensitive).
	Method []byte
	// Target is the request-target as sent.
	Target []byte
	// Form is the form of Target.
	Form Form
	// Path is the path and query: Target for the origin and asterisk
	// forms; for the absolute form, what follows the authority (it may be
	// empty or start with '?': the origin-form path is then "/" followed by
	// it); empty for CONNECT.
	Path []byte
	// Authority is the authority of an absolute-form or authority-form
	// target, else the Host value ("an origin server ... MUST ignore the
	// received Host header field (if any) and instead use the host
	// information of the request-target", RFC 9112 §3.2.2).
	Authority []byte
	// HTTPS is set when an absolute-form target has the https scheme.
	HTTPS bool
	// Minor is the minor version: 0 for HTTP/1.0, 1 for HTTP/1.1 and
	// later 1.x versions ("A recipient that receives a message with a major
	// version number that it implements and a minor version number higher
	// than what it implements SHOULD process the message as if it were in
	// the highest minor version within that major version", RFC 9110 §2.5).
	Minor int
	// Fields are the field lines in order.
	Fields []Field
	// HasHost reports a Host field.
	HasHost bool

	// ContentLength is the body length from Content-Length, or -1.
	ContentLength int64
	// Chunked is set when the body has the chunked transfer coding.
	Chunked bool
	// KeepAlive reports whether the connection persists after the response
	// (RFC 9112 §9.3): no "close" connection option, and HTTP/1.1 or an
	// HTTP/1.0 request with the "keep-alive" option.
	KeepAlive bool
	// KeepAliveOption reports the "keep-alive" connection option: an
	// HTTP/1.0 client expects it back in the response.
	KeepAliveOption bool
	// Expect100 is set for "Expect: 100-continue" on an HTTP/1.1 request.
	Expect100 bool
	// UpgradeH2C is set when the request asks for h2c as RFC 7540 §3.2
	// describes: HTTP/1.1, an Upgrade field listing "h2c", a Connection
	// field listing "Upgrade" and "HTTP2-Settings", and exactly one
	// HTTP2-Settings field (its value is HTTP2Settings, still encoded).
	UpgradeH2C bool
	// HTTP2Settings is the value of the HTTP2-Settings field.
	HTTP2Settings []byte

	// parse state
	hosts       int
	connClose   bool
	connUpgrade bool
	connH2      bool
	upgradeH2C  bool
	settings    int
	te          bool // a Transfer-Encoding field was seen
	teChunked   int  // how many times chunked appears
	teOther     bool // a coding other than chunked appears
	teLast      bool // the last coding is chunked
}

// Reset clears r, keeping the capacity of Fields.
func (r *Request) Reset() {
	fields := r.Fields[:0]
	*r = Request{Fields: fields, ContentLength: -1}
}

// ParseRequest parses the request head at the start of buf into r. It
// returns the length of the head (through the CRLF that ends it) once buf
// holds all of it, 0 and a nil error while the head is incomplete, or an
// *Error. Empty lines before the request line are skipped and counted in
// the length ("a server that is expecting to receive and parse a
// request-line SHOULD ignore at least one empty line (CRLF) received prior
// to the request-line", RFC 9112 §2.2). It does not allocate, except to grow
// r.Fields.
func ParseRequest(buf []byte, r *Request, lim *Limits) (int, error) {
	r.Reset()
	max := lim.head()
	window := buf
	if len(window) > max {
		window = window[:max]
	}
	pos := 0
	for pos+1 < len(window) && window[pos] == '\r' && window[pos+1] == '\n' {
		pos += 2
	}
	// The request line.
	i := bytes.IndexByte(window[pos:], '\n')
	if i < 0 {
		if len(buf) >= max {
			return 0, ErrURITooLong
		}
		if len(buf)-pos == 1 && buf[pos] == '\r' {
			return 0, nil // maybe another empty line
		}
		return 0, checkPartialLine(buf[pos:])
	}
	line, err := lineOf(window[pos : pos+i+1])
	if err != nil {
		return 0, err
	}
	pos += i + 1
	if err := r.parseRequestLine(line); err != nil {
		return 0, err
	}
	maxFields := lim.fields()
	for {
		i := bytes.IndexByte(window[pos:], '\n')
		if i < 0 {
			if len(buf) >= max {
				return 0, ErrHeadTooLarge
			}
			return 0, nil
		}
		line, err := lineOf(window[pos : pos+i+1])
		if err != nil {
			return 0, err
		}
		pos += i + 1
		if len(line) == 0 {
			break
		}
		if len(r.Fields) == maxFields {
			return 0, ErrTooManyFields
		}
		f, err := parseField(line)
		if err != nil {
			return 0, err
		}
		if err := r.interpret(&f); err != nil {
			return 0, err
		}
		r.Fields = append(r.Fields, f)
	}
	if err := r.finish(); err != nil {
		return 0, err
	}
	return pos, nil
}

// checkPartialLine rejects an incomplete first line early when its method
// already cannot be a token.
func checkPartialLine(b []byte) error {
	for _, c := range b {
		if c == ' ' {
			return nil
		}
		if !tokenTable[c] {
			return ErrNotHTTP
		}
	}
	return nil
}

// lineOf strips the CRLF from a line that ends in LF. "Although the line
// terminator for the start-line and fields is the sequence CRLF, a
// recipient MAY recognize a single LF as a line terminator" (RFC 9112 §2.2):
// we do not, so that no two parsers on a request's path disagree on where
// a line ends.
func lineOf(b []byte) ([]byte, error) {
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return nil, ErrBareLineEnd
	}
	return b[:len(b)-2], nil
}

// parseRequestLine parses "method SP request-target SP HTTP-version".
func (r *Request) parseRequestLine(line []byte) error {
	sp := bytes.LastIndexByte(line, ' ')
	if sp < 0 || !isVersion(line[sp+1:]) {
		return ErrNotHTTP
	}
	v := line[sp+1:]
	if v[5] != '1' {
		return ErrVersion
	}
	if v[7] == '0' {
		r.Minor = 0
	} else {
		r.Minor = 1
	}
	line = line[:sp]
	m := bytes.IndexByte(line, ' ')
	if m < 0 {
		return ErrRequestLine
	}
	r.Method, r.Target = line[:m], line[m+1:]
	if !IsToken(r.Method) {
		return ErrMethod
	}
	return r.parseTarget()
}

// isVersion reports whether v is HTTP-version: "HTTP/" DIGIT "." DIGIT.
func isVersion(v []byte) bool {
	return len(v) == 8 && string(v[:5]) == "HTTP/" && isDigit(v[5]) && v[6] == '.' && isDigit(v[7])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (r *Request) parseTarget() error {
	t := r.Target
	if len(t) == 0 {
		return ErrRequestLine // two spaces in a row
	}
	for _, c := range t {
		if !targetTable[c] {
			return ErrTarget
		}
	}
	connect := string(r.Method) == "CONNECT"
	switch {
	case connect:
		// "The authority-form of request-target is only used for CONNECT
		// requests" (RFC 9112 §3.2.3): host ":" port.
		if !validAuthority(t) || bytes.LastIndexByte(t, ':') < 0 {
			return ErrTarget
		}
		r.Form, r.Authority = FormAuthority, t
	case t[0] == '/':
		r.Form, r.Path = FormOrigin, t
	case len(t) == 1 && t[0] == '*':
		// "The asterisk-form of request-target is only used for a
		// server-wide OPTIONS request" (RFC 9112 §3.2.4).
		if string(r.Method) != "OPTIONS" {
			return ErrTarget
		}
		r.Form, r.Path = FormAsterisk, t
	default:
		var rest []byte
		switch {
		case hasPrefixFold(t, "http://"):
			rest = t[len("http://"):]
		case hasPrefixFold(t, "https://"):
			rest = t[len("https://"):]
			r.HTTPS = true
		default:
			return ErrTarget
		}
		end := 0
		for end < len(rest) && rest[end] != '/' && rest[end] != '?' && rest[end] != '#' {
			end++
		}
		// "A sender MUST NOT generate an "http" URI with an empty host
		// identifier. A recipient that processes such a URI reference MUST
		// reject it as invalid" (RFC 9110 §4.2.1). Userinfo ('@') is not
		// valid either (§4.2.4).
		if end == 0 || !validAuthority(rest[:end]) || rest[0] == ':' {
			return ErrTarget
		}
		r.Form, r.Authority, r.Path = FormAbsolute, rest[:end], rest[end:]
	}
	return nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// validAuthority checks host [":" port] loosely: only characters of RFC
// 3986 reg-name, IP-literal and port (no userinfo, no path).
func validAuthority(b []byte) bool {
	for _, c := range b {
		if !hostTable[c] {
			return false
		}
	}
	return true
}

// parseField splits "name: value". The name must be a token directly
// followed by the colon; the value may not contain control characters.
func parseField(line []byte) (Field, error) {
	if line[0] == ' ' || line[0] == '\t' {
		// "A server that receives an obs-fold in a request message that is
		// not within a "message/http" container MUST either reject the
		// message by sending a 400 (Bad Request) ... or replace each
		// received obs-fold with one or more SP octets" (RFC 9112 §5.2). We
		// reject, and likewise whitespace before the first field (§2.2).
		return Field{}, ErrObsFold
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Field{}, ErrFieldName
	}
	name := line[:colon]
	for _, c := range name {
		if !tokenTable[c] {
			if last := name[len(name)-1]; last == ' ' || last == '\t' {
				// "No whitespace is allowed between the field name and
				// colon. ... A server MUST reject, with a response status
				// code of 400 (Bad Request), any received request message
				// that contains whitespace between a header field name and
				// colon" (RFC 9112 §5.1).
				return Field{}, ErrFieldNameSpace
			}
			return Field{}, ErrFieldName
		}
	}
	value := trimOWS(line[colon+1:])
	for _, c := range value {
		if !valueTable[c] {
			// "Field values containing CR, LF, or NUL characters are
			// invalid and dangerous" (RFC 9110 §5.5); "A recipient of
			// such a bare CR MUST consider that element to be invalid or
			// replace each bare CR with SP" (RFC 9112 §2.2). Other
			// controls are outside field-vchar too.
			return Field{}, ErrFieldValue
		}
	}
	return Field{Name: name, Value: value, Kind: kindOf(name)}, nil
}

// kindOf classifies a field name, ignoring case.
func kindOf(name []byte) Kind {
	switch len(name) {
	case 2:
		if equalFold(name, "te") {
			return KindTE
		}
	case 4:
		if equalFold(name, "host") {
			return KindHost
		}
	case 6:
		if equalFold(name, "expect") {
			return KindExpect
		}
	case 7:
		if equalFold(name, "upgrade") {
			return KindUpgrade
		}
	case 10:
		if equalFold(name, "connection") {
			return KindConnection
		}
		if equalFold(name, "keep-alive") {
			return KindKeepAlive
		}
	case 14:
		if equalFold(name, "content-length") {
			return KindContentLength
		}
		if equalFold(name, "http2-settings") {
			return KindHTTP2Settings
		}
	case 16:
		if equalFold(name, "proxy-connection") {
			return KindProxyConnection
		}
	case 17:
		if equalFold(name, "transfer-encoding") {
			return KindTransferEncoding
		}
	}
	return KindOther
}

// interpret records what a field means for framing and the connection.
func (r *Request) interpret(f *Field) error {
	v := f.Value
	switch f.Kind {
	case KindHost:
		// "A server MUST respond with a 400 (Bad Request) status code to
		// any HTTP/1.1 request message that lacks a Host header field and
		// to any request message that contains more than one Host header
		// field line or a Host header field with an invalid field value"
		// (RFC 9112 §3.2).
		r.hosts++
		if r.hosts > 1 || !validAuthority(v) {
			return ErrHost
		}
		r.HasHost = true
		if r.Form == FormOrigin || r.Form == FormAsterisk {
			r.Authority = v
		}
	case KindContentLength:
		// "If a message is received without Transfer-Encoding and with an
		// invalid Content-Length header field, then the message framing is
		// invalid and the recipient MUST treat it as an unrecoverable
		// error ... the server MUST respond with a 400 (Bad Request)"
		// (RFC 9112 §6.3). Repeated lines with one value are accepted
		// (RFC 9110 §8.6); a list is not.
		n, ok := parseLength(v)
		if !ok || r.ContentLength >= 0 && n != r.ContentLength {
			return ErrContentLength
		}
		r.ContentLength = n
	case KindTransferEncoding:
		r.te = true
		for list := v; ; {
			elem, rest, ok := nextElement(list)
			if !ok {
				break
			}
			list = rest
			r.teLast = equalFold(elem, "chunked")
			if r.teLast {
				r.teChunked++
			} else {
				r.teOther = true
			}
		}
	case KindConnection:
		for list := v; ; {
			elem, rest, ok := nextElement(list)
			if !ok {
				break
			}
			list = rest
			switch {
			case equalFold(elem, "close"):
				r.connClose = true
			case equalFold(elem, "keep-alive"):
				r.KeepAliveOption = true
			case equalFold(elem, "upgrade"):
				r.connUpgrade = true
			case equalFold(elem, "http2-settings"):
				r.connH2 = true
			}
		}
	case KindUpgrade:
		for list := v; ; {
			elem, rest, ok := nextElement(list)
			if !ok {
				break
			}
			list = rest
			if equalFold(elem, "h2c") {
				r.upgradeH2C = true
			}
		}
	case KindHTTP2Settings:
		r.settings++
		r.HTTP2Settings = v
	case KindExpect:
		// "A server that receives a 100-continue expectation in an HTTP/1.0
		// request MUST ignore that expectation" (RFC 9110 §10.1.1).
		if equalFold(v, "100-continue") {
			r.Expect100 = r.Minor == 1
		} else if len(v) > 0 {
			// "A server that receives an Expect field value containing a
			// member other than 100-continue MAY respond with a 417
			// (Expectation Failed) status code" (RFC 9110 §10.1.1).
			return ErrExpectation
		}
	}
	return nil
}

// parseLength parses Content-Length = 1*DIGIT, up to 18 digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// finish applies the rules that need the whole head.
func (r *Request) finish() error {
	if r.Minor == 1 && !r.HasHost {
		return ErrMissingHost
	}
	if r.te {
		switch {
		case r.Minor == 0:
			// "A server or client that receives an HTTP/1.0 message
			// containing a Transfer-Encoding header field MUST treat the
			// message as if the framing is faulty" (RFC 9112 §6.1).
			return ErrTransferEncoding
		case r.ContentLength >= 0:
			// "A server MAY reject a request that contains both
			// Content-Length and Transfer-Encoding ... Regardless, the
			// server MUST close the connection after responding to such a
			// request" (RFC 9112 §6.1). We reject.
			return ErrLengthAndChunked
		case !r.teLast || r.teChunked != 1:
			// "If a Transfer-Encoding header field is present in a request
			// and the chunked transfer coding is not the final encoding,
			// the message body length cannot be determined reliably; the
			// server MUST respond with the 400 (Bad Request) status code
			// and then close the connection" (RFC 9112 §6.3). "A sender
			// MUST NOT apply the chunked transfer coding more than once to
			// a message body" (§6.1).
			return ErrTransferEncoding
		case r.teOther:
			// "A server that receives a request message with a transfer
			// coding it does not understand SHOULD respond with 501 (Not
			// Implemented)" (RFC 9112 §6.1).
			return ErrUnsupportedCoding
		}
		r.Chunked = true
	}
	r.KeepAlive = !r.connClose && (r.Minor == 1 || r.KeepAliveOption)
	// "A server MUST NOT upgrade the connection to HTTP/2 if this header
	// field is not present or if more than one is present" (RFC 7540
	// §3.2.1); "A server MUST ignore an Upgrade header field that is
	// received in an HTTP/1.0 request" (RFC 9110 §7.8).
	r.UpgradeH2C = r.Minor == 1 && r.upgradeH2C && r.connUpgrade && r.connH2 && r.settings == 1
	return nil
}
