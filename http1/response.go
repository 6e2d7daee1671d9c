package http1

import "strconv"

// StatusText is the reason phrase of a status code, "" when unknown.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return ""
}

// AppendStatusLine appends "HTTP/1.1 code reason\r\n". Codes outside
// 100-999 are sent as 500. "The reason-phrase element exists for the sole
// purpose of providing a textual description ... A client SHOULD ignore
// the reason-phrase content" (RFC 9112 §4); it is empty for unknown codes.
func AppendStatusLine(dst []byte, code int) []byte {
	if code == 200 {
		return append(dst, "HTTP/1.1 200 OK\r\n"...)
	}
	if code < 100 || code > 999 {
		code = 500
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(code)...)
	return append(dst, "\r\n"...)
}

// AppendField appends the field line "Name: value\r\n". The name is
// written in canonical case (first letter and letters after '-' upper
// case, the rest lower case; field names are case-insensitive, RFC 9110
// §5.1). A name that is not a token appends nothing. Leading and trailing
// whitespace of the value is dropped and CR, LF, NUL and other control
// characters in it become SP: "a recipient of CR, LF, or NUL within a field
// value MUST either reject the message or replace each of those characters
// with SP before further processing or forwarding of that message"
// (RFC 9110 §5.5) — a sender must not emit them either, or a handler's
// value could split the response.
func AppendField[V string | []byte](dst []byte, name string, value V) []byte {
	if !isTokenString(name) {
		return dst
	}
	dst = AppendCanonicalName(dst, name)
	dst = append(dst, ": "...)
	start, end := 0, len(value)
	for start < end && (value[start] == ' ' || value[start] == '\t') {
		start++
	}
	for end > start && (value[end-1] == ' ' || value[end-1] == '\t') {
		end--
	}
	for i := start; i < end; i++ {
		c := value[i]
		if !valueTable[c] {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, "\r\n"...)
}

// AppendCanonicalName appends name in canonical case ("content-type" →
// "Content-Type").
func AppendCanonicalName(dst []byte, name string) []byte {
	up := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if up && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !up && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
		up = c == '-'
	}
	return dst
}

// AppendContentLength appends "Content-Length: n\r\n".
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, "Content-Length: "...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, "\r\n"...)
}

// AppendChunkHeader appends the chunk-size line of a chunk of n > 0 bytes
// (hex size, CRLF); the data and a CRLF follow.
func AppendChunkHeader(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// AppendChunk appends p as one chunk; an empty p appends nothing (a
// zero-size chunk would end the body).
func AppendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = AppendChunkHeader(dst, len(p))
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// AppendLastChunk appends the last chunk "0\r\n". Trailer fields
// (AppendField) and a final "\r\n" follow.
func AppendLastChunk(dst []byte) []byte {
	return append(dst, "0\r\n"...)
}

// Continue is the interim response to "Expect: 100-continue".
const Continue = "HTTP/1.1 100 Continue\r\n\r\n"

// SwitchingToH2C is the response that accepts an h2c upgrade (RFC 7540 §3.2).
const SwitchingToH2C = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
