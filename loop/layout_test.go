package loop

import (
	"testing"
	"unsafe"
)

// TestH2ConnSizeClass keeps an HTTP/2 connection's state (h2conn with its
// engine and HPACK contexts inline) within the runtime's 704-byte size
// class: thousands of idle connections each hold one. An object of more
// than 512 bytes that holds pointers carries an 8-byte header in front
// (Go 1.22 and later), so the struct may take 696 bytes. A field that
// pushes it over costs 64 bytes per connection (the next class is 768):
// reorder, or take state only a busy connection needs from a pool (as the
// record of recent streams and the lazily dispatched streams are), or
// allocate it when it is first needed (as the waiters and the rare state,
// with server push and CONTINUATION timing, are).
func TestH2ConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(h2conn{}); n > 704-8 {
		t.Fatalf("h2conn is %d bytes, with its 8-byte allocation header above the 704-byte size class", n)
	}
}
