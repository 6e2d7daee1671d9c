package loop

// looksLikeHTTP1 reports whether b can start an HTTP/1.x request line: a
// method token followed by a space.
func looksLikeHTTP1(b []byte) bool {
	for i, ch := range b {
		if ch == ' ' {
			return i > 0
		}
		if !isTokenChar(ch) {
			return false
		}
	}
	return len(b) > 0
}

func isTokenChar(ch byte) bool {
	switch {
	case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		return true
	}
	switch ch {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
