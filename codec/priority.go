package codec

// Priority is the priority of a response (RFC 9218 §4): an urgency from 0
// (most urgent) to 7, and whether the client processes the response
// incrementally.
type Priority struct {
	Urgency     uint8
	Incremental bool
}

// DefaultPriority is the priority of a request that carries no priority
// signal: "u=3" and not incremental (RFC 9218 §4.1, §4.2).
var DefaultPriority = Priority{Urgency: 3}

// ParsePriorityField applies the parameters of a priority field value (a
// Structured Fields dictionary, RFC 8941 §3.2, such as "u=1, i") to p and
// returns the result. It is lenient, as RFC 9218 asks: "Unknown parameters
// MUST be ignored" (§4), an urgency outside 0..7 or of the wrong type
// "MUST" be ignored too (§4.1), and a member it cannot parse ends parsing
// with what was applied before it. It allocates nothing.
func ParsePriorityField[V string | []byte](p Priority, v V) Priority {
	i := 0
	for i < len(v) {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
			i++
		}
		// key: lcalpha / "*", then lcalpha / DIGIT / "_" / "-" / "." / "*"
		start := i
		for i < len(v) && isKeyChar(v[i], i == start) {
			i++
		}
		if i == start {
			return p
		}
		key := v[start:i]
		isU := len(key) == 1 && key[0] == 'u'
		isI := len(key) == 1 && key[0] == 'i'
		if i < len(v) && v[i] == '=' {
			i++
			vs := i
			if i < len(v) && v[i] == '"' {
				// a string: skip it, escapes included
				i++
				for i < len(v) && v[i] != '"' {
					if v[i] == '\\' {
						i++
					}
					i++
				}
				if i >= len(v) {
					return p
				}
				i++
			} else {
				for i < len(v) && v[i] != ',' && v[i] != ';' && v[i] != ' ' && v[i] != '\t' {
					i++
				}
			}
			val := v[vs:i]
			switch {
			case isU:
				// an sf-integer 0..7: one digit (no sign, leading zeros are
				// still an integer)
				n, ok := 0, len(val) > 0 && len(val) <= 15
				for j := 0; j < len(val); j++ {
					c := val[j]
					if c < '0' || c > '9' {
						ok = false
						break
					}
					n = n*10 + int(c-'0')
				}
				if ok && n <= 7 {
					p.Urgency = uint8(n)
				}
			case isI:
				if len(val) == 2 && val[0] == '?' && (val[1] == '0' || val[1] == '1') {
					p.Incremental = val[1] == '1'
				}
			}
		} else if isI {
			p.Incremental = true // a bare key is the boolean true
		}
		// parameters of the member (";a=b"): skipped
		for i < len(v) && v[i] != ',' {
			if v[i] == '"' {
				i++
				for i < len(v) && v[i] != '"' {
					if v[i] == '\\' {
						i++
					}
					i++
				}
			}
			i++
		}
	}
	return p
}

func isKeyChar(c byte, first bool) bool {
	if 'a' <= c && c <= 'z' || c == '*' {
		return true
	}
	return !first && ('0' <= c && c <= '9' || c == '_' || c == '-' || c == '.')
}

// AppendPriorityField appends the priority field value of p, omitting
// default parameters ("" for the default priority).
func AppendPriorityField(dst []byte, p Priority) []byte {
	if p.Urgency != DefaultPriority.Urgency {
		dst = append(dst, 'u', '=', '0'+p.Urgency)
	}
	if p.Incremental {
		if p.Urgency != DefaultPriority.Urgency {
			dst = append(dst, ',', ' ')
		}
		dst = append(dst, 'i')
	}
	return dst
}
