package http1

import "bytes"

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

type chunkState uint8

const (
	chunkSize chunkState = iota
	chunkData
	chunkDataEnd
	chunkTrailer
	chunkDone
)

// ChunkedDecoder decodes a chunked request body (RFC 9112 §7.1) fed to it
// in pieces. The zero value is ready; Reset makes it ready again.
type ChunkedDecoder struct {
	// Trailers are the trailer fields, set when Decode reports done. They
	// borrow from the buffer of that Decode call.
	Trailers []Field

	state chunkState
	left  int64 // chunk data bytes still to come
	total int64 // body bytes decoded so far
}

// Reset prepares d for a new body, keeping the capacity of Trailers.
func (d *ChunkedDecoder) Reset() {
	*d = ChunkedDecoder{Trailers: d.Trailers[:0]}
}

// Len is the number of body bytes decoded so far.
func (d *ChunkedDecoder) Len() int64 { return d.total }

// Decode consumes chunked bytes from the start of buf and appends the chunk
// data to body. It returns how many bytes of buf it consumed, the grown
// body, and done once the last chunk and the trailer section are consumed.
// A partial chunk-size line or trailer section is left unconsumed: call
// again with it and more bytes. Chunk data is consumed as it comes. A body
// longer than maxBody fails with ErrBodyTooLarge as soon as a chunk size
// announces it; a trailer section longer than lim's head limit fails with
// ErrHeadTooLarge.
func (d *ChunkedDecoder) Decode(buf, body []byte, maxBody int64, lim *Limits) (n int, out []byte, done bool, err error) {
	for {
		switch d.state {
		case chunkSize:
			rest := buf[n:]
			if len(rest) > maxChunkLine {
				rest = rest[:maxChunkLine]
			}
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				if len(rest) == maxChunkLine {
					return n, body, false, ErrChunkSize
				}
				return n, body, false, nil
			}
			line, err := lineOf(rest[:i+1])
			if err != nil {
				return n, body, false, err
			}
			size, ok := parseChunkSize(line)
			if !ok {
				return n, body, false, ErrChunkSize
			}
			n += i + 1
			if size > maxBody-d.total {
				return n, body, false, ErrBodyTooLarge
			}
			if size == 0 {
				d.state = chunkTrailer
			} else {
				d.left, d.state = size, chunkData
			}
		case chunkData:
			k := len(buf) - n
			if int64(k) > d.left {
				k = int(d.left)
			}
			if k == 0 {
				return n, body, false, nil
			}
			body = append(body, buf[n:n+k]...)
			n += k
			d.left -= int64(k)
			d.total += int64(k)
			if d.left == 0 {
				d.state = chunkDataEnd
			}
		case chunkDataEnd:
			if len(buf)-n < 2 {
				if len(buf)-n == 1 && buf[n] != '\r' {
					return n, body, false, ErrChunkEnd
				}
				return n, body, false, nil
			}
			if buf[n] != '\r' || buf[n+1] != '\n' {
				return n, body, false, ErrChunkEnd
			}
			n += 2
			d.state = chunkSize
		case chunkTrailer:
			used, err := d.parseTrailers(buf[n:], lim)
			if err != nil || used == 0 {
				return n, body, false, err
			}
			n += used
			d.state = chunkDone
			return n, body, true, nil
		case chunkDone:
			return n, body, true, nil
		}
	}
}

// parseChunkSize parses chunk-size [ chunk-ext ]: hex digits, then
// optional extensions that are ignored ("A recipient MUST ignore
// unrecognized chunk extensions", RFC 9112 §7.1.1) but may not hold
// control characters.
func parseChunkSize(line []byte) (int64, bool) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			goto ext
		}
		if size >= 1<<59 {
			return 0, false
		}
		size = size<<4 | int64(v)
	}
ext:
	if i == 0 {
		return 0, false
	}
	rest := line[i:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] != ';' {
		return 0, false
	}
	for _, c := range rest {
		if !valueTable[c] {
			return 0, false
		}
	}
	return size, true
}

// parseTrailers parses the trailer section and its final CRLF once all of
// it is in buf; it returns 0 while it is incomplete.
func (d *ChunkedDecoder) parseTrailers(buf []byte, lim *Limits) (int, error) {
	d.Trailers = d.Trailers[:0]
	max := lim.head()
	window := buf
	if len(window) > max {
		window = window[:max]
	}
	pos := 0
	for {
		i := bytes.IndexByte(window[pos:], '\n')
		if i < 0 {
			d.Trailers = d.Trailers[:0]
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
			return pos, nil
		}
		if len(d.Trailers) == lim.fields() {
			return 0, ErrTooManyFields
		}
		f, err := parseField(line)
		if err != nil {
			return 0, err
		}
		d.Trailers = append(d.Trailers, f)
	}
}
