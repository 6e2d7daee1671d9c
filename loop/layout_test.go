package loop

import (
	"testing"
	"unsafe"
)

// TestH2ConnSizeClass keeps an HTTP/2 connection's state (h2conn with its
// engine and HPACK contexts inline) within the runtime's 1,024-byte size
// class: thousands of idle connections each hold one. A field that pushes
// it over costs 128 bytes per connection (the next class is 1,152):
// reorder, or take rarely used state from a pool, or allocate it, when it
// is first needed.
func TestH2ConnSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(h2conn{}); n > 1024 {
		t.Fatalf("h2conn is %d bytes, above the 1,024-byte size class", n)
	}
}
