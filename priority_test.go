package h2loop

import (
	"testing"

	"golang.org/x/net/http2/hpack"
)

// TestServePathAllocsPriority: a request with a priority field whose
// handler reads and overrides it allocates nothing either.
func TestServePathAllocsPriority(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	var bad int
	mc, feed := newMemServer(t, HandlerFunc(func(ctx *RequestCtx) {
		if u, i := ctx.Priority(); u != 1 || !i {
			bad++
		}
		ctx.SetPriority(0, false)
		helloNative(ctx)
	}), hpack.HeaderField{Name: "priority", Value: "u=1, i"})
	mc.wantNoAllocs(t, feed)
	if bad != 0 {
		t.Fatalf("%d requests did not see priority u=1, i", bad)
	}
}

// TestServePathAllocsEarlyHints: a 103 before the response allocates
// nothing either.
func TestServePathAllocsEarlyHints(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP under -race: sync.Pool drops items at random; CI also runs this test without -race")
	}
	mc, feed := newMemServer(t, HandlerFunc(func(ctx *RequestCtx) {
		ctx.SendEarlyHints("</a.css>; rel=preload; as=style")
		helloNative(ctx)
	}))
	mc.wantNoAllocs(t, feed)
}
