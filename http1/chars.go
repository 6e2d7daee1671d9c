package http1

// Byte classes of RFC 9110 §5.6.2 and §5.5, as lookup tables.
var (
	// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
	// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
	tokenTable [256]bool
	// field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value.
	valueTable [256]bool
	// request-target bytes: visible ASCII and obs-text (no SP, no controls).
	targetTable [256]bool
	// Host: reg-name, IP-literal and port characters of RFC 3986.
	hostTable [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tokenTable[c] = alnum
		valueTable[c] = b == '\t' || b == ' ' || 0x21 <= b && b <= 0x7e || b >= 0x80
		targetTable[c] = 0x21 <= b && b <= 0x7e || b >= 0x80
		hostTable[c] = alnum
	}
	for _, b := range []byte("!#$%&'*+-.^_`|~") {
		tokenTable[b] = true
	}
	for _, b := range []byte("-._~!$&'()*+,;=:[]%") {
		hostTable[b] = true
	}
}

// IsToken reports whether b is a non-empty token (RFC 9110 §5.6.2).
func IsToken(b []byte) bool {
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return len(b) > 0
}

// IsTokenChar reports whether c is a tchar, a byte of a token.
func IsTokenChar(c byte) bool { return tokenTable[c] }

func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// lower returns the ASCII lowercase of c.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals the lowercase ASCII string s, ignoring
// the case of b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextElement splits the first element off a comma-separated list
// (RFC 9110 §5.6.1), skipping empty elements; ok is false at the end.
func nextElement(list []byte) (elem, rest []byte, ok bool) {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != ',' {
			i++
		}
		elem = trimOWS(list[:i])
		if i < len(list) {
			i++
		}
		list = list[i:]
		if len(elem) > 0 {
			return elem, list, true
		}
	}
	return nil, nil, false
}
